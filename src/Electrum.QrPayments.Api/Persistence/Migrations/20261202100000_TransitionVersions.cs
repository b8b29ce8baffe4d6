using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;

namespace Electrum.QrPayments.Api.Persistence.Migrations;

// Each audit row carries the payment version it made, unique per payment: the database refuses the
// rows of a writer that lost the race for a version (QrDbContext.VersionConflictIndex). Rows written
// before are numbered back from the payment's current version, in the order they were written, so
// the newest carries it. Earlier builds bumped the version without a row on a reversal request:
// those versions stay without a row, which is harmless below the current one (every writer from
// now on starts at or above it), but not at it. Every instance of an earlier build must be stopped
// first (docs/operations.md).
[DbContext(typeof(QrDbContext))]
[Migration("20261202100000_TransitionVersions")]
public sealed class TransitionVersions : Migration
{
    protected override void Up(MigrationBuilder migrationBuilder)
    {
        ArgumentNullException.ThrowIfNull(migrationBuilder);
        migrationBuilder.AddColumn<int>("version", "payment_transitions", nullable: false, defaultValue: 0);
        migrationBuilder.Sql(
            "UPDATE payment_transitions SET version = " +
            "(SELECT payments.version FROM payments WHERE payments.id = payment_transitions.payment_id) - " +
            "(SELECT COUNT(*) FROM payment_transitions AS later " +
            "WHERE later.payment_id = payment_transitions.payment_id AND later.id > payment_transitions.id);");
        if (migrationBuilder.IsNpgsql())
        {
            // The default only filled the rows already there: a row must say which version it made.
            // SQLite would have to rebuild the table, which needs a model these hand-written
            // migrations do not carry; it runs one instance, so no earlier build writes alongside.
            migrationBuilder.Sql("ALTER TABLE payment_transitions ALTER COLUMN version DROP DEFAULT;");
        }

        migrationBuilder.DropIndex("ix_payment_transitions_payment_id", "payment_transitions");
        migrationBuilder.CreateIndex(QrDbContext.VersionConflictIndex, "payment_transitions", ["payment_id", "version"], unique: true);
    }

    protected override void Down(MigrationBuilder migrationBuilder)
    {
        ArgumentNullException.ThrowIfNull(migrationBuilder);
        // Earlier builds know no such cause (and wrote no row for a reversal request).
        migrationBuilder.Sql("DELETE FROM payment_transitions WHERE cause = 'ReversalRequested';");
        migrationBuilder.DropIndex(QrDbContext.VersionConflictIndex, "payment_transitions");
        migrationBuilder.CreateIndex("ix_payment_transitions_payment_id", "payment_transitions", "payment_id");
        if (migrationBuilder.IsNpgsql())
        {
            migrationBuilder.DropColumn("version", "payment_transitions");
        }
        else
        {
            // EF's SQLite migrations would rebuild the table for this, which needs a model these
            // hand-written migrations do not carry; SQLite drops an unindexed column itself.
            migrationBuilder.Sql("ALTER TABLE payment_transitions DROP COLUMN version;");
        }
    }
}

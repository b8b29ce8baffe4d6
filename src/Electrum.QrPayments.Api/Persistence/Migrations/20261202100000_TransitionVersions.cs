using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Migrations;

namespace Electrum.QrPayments.Api.Persistence.Migrations;

// Each audit row carries the payment version it made, unique per payment: the database refuses the
// rows of a writer that lost the race for a version (QrDbContext.VersionConflictIndex). Rows written
// before are numbered 0, 1, … per payment in the order they were written; a payment's version is
// never below its row count less one, so later rows (numbered from its version on) cannot collide.
[DbContext(typeof(QrDbContext))]
[Migration("20261202100000_TransitionVersions")]
public sealed class TransitionVersions : Migration
{
    protected override void Up(MigrationBuilder migrationBuilder)
    {
        ArgumentNullException.ThrowIfNull(migrationBuilder);
        migrationBuilder.AddColumn<int>("version", "payment_transitions", nullable: false, defaultValue: 0);
        migrationBuilder.Sql(
            "UPDATE payment_transitions SET version = (SELECT COUNT(*) FROM payment_transitions AS earlier " +
            "WHERE earlier.payment_id = payment_transitions.payment_id AND earlier.id < payment_transitions.id);");
        if (migrationBuilder.IsNpgsql())
        {
            // The default only filled the rows already there (SQLite cannot drop one without rebuilding the table).
            migrationBuilder.Sql("ALTER TABLE payment_transitions ALTER COLUMN version DROP DEFAULT;");
        }

        migrationBuilder.DropIndex("ix_payment_transitions_payment_id", "payment_transitions");
        migrationBuilder.CreateIndex(QrDbContext.VersionConflictIndex, "payment_transitions", ["payment_id", "version"], unique: true);
    }

    protected override void Down(MigrationBuilder migrationBuilder)
    {
        ArgumentNullException.ThrowIfNull(migrationBuilder);
        migrationBuilder.DropIndex(QrDbContext.VersionConflictIndex, "payment_transitions");
        migrationBuilder.CreateIndex("ix_payment_transitions_payment_id", "payment_transitions", "payment_id");
        migrationBuilder.DropColumn("version", "payment_transitions");
    }
}

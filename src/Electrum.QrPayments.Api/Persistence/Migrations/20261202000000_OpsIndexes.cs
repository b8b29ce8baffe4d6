using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;

namespace Electrum.QrPayments.Api.Persistence.Migrations;

// The ops payment list and the daily reconciliation read payments by creation time (newest
// first, ties by request id): one index serves both, and the keyset cursor.
[DbContext(typeof(QrDbContext))]
[Migration("20261202000000_OpsIndexes")]
public sealed class OpsIndexes : Migration
{
    protected override void Up(MigrationBuilder migrationBuilder)
    {
        ArgumentNullException.ThrowIfNull(migrationBuilder);
        migrationBuilder.CreateIndex("ix_payments_created_at_request_id", "payments", ["created_at", "request_id"]);
    }

    protected override void Down(MigrationBuilder migrationBuilder)
    {
        ArgumentNullException.ThrowIfNull(migrationBuilder);
        migrationBuilder.DropIndex("ix_payments_created_at_request_id", "payments");
    }
}

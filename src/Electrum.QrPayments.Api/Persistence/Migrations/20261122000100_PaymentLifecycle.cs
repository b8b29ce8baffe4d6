using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;
using Npgsql.EntityFrameworkCore.PostgreSQL.Metadata;

namespace Electrum.QrPayments.Api.Persistence.Migrations;

// Payments with their audit trail, scans, accepted advices and the outbox.
[DbContext(typeof(QrDbContext))]
[Migration("20261122000100_PaymentLifecycle")]
public sealed class PaymentLifecycle : Migration
{
    protected override void Up(MigrationBuilder migrationBuilder)
    {
        ArgumentNullException.ThrowIfNull(migrationBuilder);
        migrationBuilder.CreateTable(
            name: "payments",
            columns: t => new
            {
                id = t.Column<Guid>(nullable: false),
                request_id = t.Column<string>(maxLength: 36, nullable: false),
                client_id = t.Column<string>(maxLength: 100, nullable: false),
                tran_id = t.Column<string>(maxLength: 32, nullable: true),
                active_tran_id = t.Column<string>(maxLength: 32, nullable: true),
                state = t.Column<string>(maxLength: 16, nullable: false),
                amount = t.Column<long>(nullable: false),
                currency = t.Column<string>(maxLength: 3, nullable: false),
                upstream_request_id = t.Column<string>(maxLength: 36, nullable: false),
                request_json = t.Column<string>(nullable: false),
                partner_id = t.Column<string>(maxLength: 100, nullable: true),
                partner_name = t.Column<string>(maxLength: 40, nullable: true),
                partner_payment_token = t.Column<string>(nullable: true),
                response_json = t.Column<string>(nullable: true),
                reversal_requested = t.Column<bool>(nullable: false),
                requested_reversal_reason = t.Column<string>(maxLength: 20, nullable: true),
                created_at = t.Column<DateTime>(nullable: false),
                updated_at = t.Column<DateTime>(nullable: false),
                hold_until = t.Column<DateTime>(nullable: false),
                version = t.Column<int>(nullable: false),
            },
            constraints: t => t.PrimaryKey("pk_payments", x => x.id));
        migrationBuilder.CreateIndex("ix_payments_request_id", "payments", "request_id", unique: true);
        migrationBuilder.CreateIndex("ix_payments_active_tran_id", "payments", "active_tran_id", unique: true);
        migrationBuilder.CreateIndex("ix_payments_tran_id", "payments", "tran_id");
        migrationBuilder.CreateIndex("ix_payments_upstream_request_id", "payments", "upstream_request_id", unique: true);

        migrationBuilder.CreateTable(
            name: "payment_transitions",
            columns: t => new
            {
                id = t.Column<long>(nullable: false)
                    .Annotation("Sqlite:Autoincrement", true)
                    .Annotation("Npgsql:ValueGenerationStrategy", NpgsqlValueGenerationStrategy.IdentityByDefaultColumn),
                payment_id = t.Column<Guid>(nullable: false),
                from_state = t.Column<string>(maxLength: 16, nullable: true),
                to_state = t.Column<string>(maxLength: 16, nullable: false),
                cause = t.Column<string>(maxLength: 32, nullable: false),
                at = t.Column<DateTime>(nullable: false),
            },
            constraints: t =>
            {
                t.PrimaryKey("pk_payment_transitions", x => x.id);
                t.ForeignKey("fk_payment_transitions_payments", x => x.payment_id, "payments", "id", onDelete: ReferentialAction.Cascade);
            });
        migrationBuilder.CreateIndex("ix_payment_transitions_payment_id", "payment_transitions", "payment_id");

        migrationBuilder.CreateTable(
            name: "scans",
            columns: t => new
            {
                id = t.Column<Guid>(nullable: false),
                message_id = t.Column<string>(maxLength: 36, nullable: false),
                tran_id = t.Column<string>(maxLength: 32, nullable: false),
                partner_id = t.Column<string>(maxLength: 100, nullable: false),
                payment_id = t.Column<Guid>(nullable: false),
                received_at = t.Column<DateTime>(nullable: false),
            },
            constraints: t => t.PrimaryKey("pk_scans", x => x.id));
        migrationBuilder.CreateIndex("ix_scans_message_id", "scans", "message_id", unique: true);
        migrationBuilder.CreateIndex("ix_scans_payment_id", "scans", "payment_id", unique: true);

        migrationBuilder.CreateTable(
            name: "advices",
            columns: t => new
            {
                id = t.Column<string>(maxLength: 36, nullable: false),
                kind = t.Column<string>(maxLength: 16, nullable: false),
                request_id = t.Column<string>(maxLength: 36, nullable: false),
                client_id = t.Column<string>(maxLength: 100, nullable: false),
                body_hash = t.Column<string>(maxLength: 64, nullable: false),
                response_status = t.Column<int>(nullable: false),
                response_json = t.Column<string>(nullable: true),
                received_at = t.Column<DateTime>(nullable: false),
            },
            constraints: t => t.PrimaryKey("pk_advices", x => x.id));
        migrationBuilder.CreateIndex("ix_advices_request_id", "advices", "request_id");

        migrationBuilder.CreateTable(
            name: "outbox",
            columns: t => new
            {
                id = t.Column<long>(nullable: false)
                    .Annotation("Sqlite:Autoincrement", true)
                    .Annotation("Npgsql:ValueGenerationStrategy", NpgsqlValueGenerationStrategy.IdentityByDefaultColumn),
                payment_id = t.Column<Guid>(nullable: false),
                kind = t.Column<string>(maxLength: 16, nullable: false),
                partner_id = t.Column<string>(maxLength: 100, nullable: false),
                message_id = t.Column<string>(maxLength: 36, nullable: false),
                body = t.Column<string>(nullable: false),
                state = t.Column<string>(maxLength: 16, nullable: false),
                attempts = t.Column<int>(nullable: false),
                created_at = t.Column<DateTime>(nullable: false),
                next_attempt_at = t.Column<DateTime>(nullable: false),
                last_status = t.Column<int>(nullable: true),
                last_error = t.Column<string>(maxLength: 200, nullable: true),
                completed_at = t.Column<DateTime>(nullable: true),
                lease_owner = t.Column<string>(maxLength: 64, nullable: true),
                lease_until = t.Column<DateTime>(nullable: true),
            },
            constraints: t => t.PrimaryKey("pk_outbox", x => x.id));
        migrationBuilder.CreateIndex("ix_outbox_message_id", "outbox", "message_id", unique: true);
        migrationBuilder.CreateIndex("ix_outbox_state_next_attempt_at", "outbox", ["state", "next_attempt_at"]);
        migrationBuilder.CreateIndex("ix_outbox_payment_id_id", "outbox", ["payment_id", "id"]);
    }

    protected override void Down(MigrationBuilder migrationBuilder)
    {
        ArgumentNullException.ThrowIfNull(migrationBuilder);
        migrationBuilder.DropTable("outbox");
        migrationBuilder.DropTable("advices");
        migrationBuilder.DropTable("scans");
        migrationBuilder.DropTable("payment_transitions");
        migrationBuilder.DropTable("payments");
    }
}

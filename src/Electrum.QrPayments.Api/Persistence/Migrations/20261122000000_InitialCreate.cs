using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;

namespace Electrum.QrPayments.Api.Persistence.Migrations;

// Hand-written and provider-neutral: column types come from each provider's default mapping of
// the CLR type. SchemaDriftTests fail when this and the EF model disagree.
[DbContext(typeof(QrDbContext))]
[Migration("20261122000000_InitialCreate")]
public sealed class InitialCreate : Migration
{
    protected override void Up(MigrationBuilder migrationBuilder)
    {
        ArgumentNullException.ThrowIfNull(migrationBuilder);
        migrationBuilder.CreateTable(
            name: "qr_codes",
            columns: t => new
            {
                id = t.Column<Guid>(nullable: false),
                tran_id = t.Column<string>(maxLength: 32, nullable: false),
                request_id = t.Column<string>(maxLength: 36, nullable: false),
                client_id = t.Column<string>(maxLength: 100, nullable: false),
                scheme = t.Column<string>(maxLength: 32, nullable: false),
                payload = t.Column<string>(maxLength: 512, nullable: false),
                amount = t.Column<long>(nullable: true),
                currency = t.Column<string>(maxLength: 3, nullable: true),
                over_payment_allowed = t.Column<bool>(nullable: false),
                part_payment_allowed = t.Column<bool>(nullable: false),
                expires_at = t.Column<DateTime>(nullable: true),
                single_use = t.Column<bool>(nullable: false),
                created_at = t.Column<DateTime>(nullable: false),
            },
            constraints: t => t.PrimaryKey("pk_qr_codes", x => x.id));

        migrationBuilder.CreateIndex("ix_qr_codes_tran_id", "qr_codes", "tran_id", unique: true);
        migrationBuilder.CreateIndex("ix_qr_codes_request_id", "qr_codes", "request_id", unique: true);
    }

    protected override void Down(MigrationBuilder migrationBuilder)
    {
        ArgumentNullException.ThrowIfNull(migrationBuilder);
        migrationBuilder.DropTable("qr_codes");
    }
}

using Electrum.QrPayments.Api.Payments;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Electrum.QrPayments.Api.Persistence;

public sealed class PaymentConfiguration : IEntityTypeConfiguration<Payment>
{
    public void Configure(EntityTypeBuilder<Payment> builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.ToTable("payments");
        builder.HasKey(p => p.Id).HasName("pk_payments");
        builder.Property(p => p.Id).HasColumnName("id").ValueGeneratedNever();
        builder.Property(p => p.RequestId).HasColumnName("request_id").HasMaxLength(36);
        builder.Property(p => p.ClientId).HasColumnName("client_id").HasMaxLength(100);
        builder.Property(p => p.TranId).HasColumnName("tran_id").HasMaxLength(32);
        builder.Property(p => p.ActiveTranId).HasColumnName("active_tran_id").HasMaxLength(32);
        builder.Property(p => p.State).HasColumnName("state").HasConversion<string>().HasMaxLength(16);
        builder.Property(p => p.Amount).HasColumnName("amount");
        builder.Property(p => p.Currency).HasColumnName("currency").HasMaxLength(3);
        builder.Property(p => p.UpstreamRequestId).HasColumnName("upstream_request_id").HasMaxLength(36);
        builder.Property(p => p.RequestJson).HasColumnName("request_json");
        builder.Property(p => p.PartnerId).HasColumnName("partner_id").HasMaxLength(100);
        builder.Property(p => p.PartnerName).HasColumnName("partner_name").HasMaxLength(40);
        builder.Property(p => p.PartnerPaymentToken).HasColumnName("partner_payment_token");
        builder.Property(p => p.ResponseJson).HasColumnName("response_json");
        builder.Property(p => p.ReversalRequested).HasColumnName("reversal_requested");
        builder.Property(p => p.RequestedReversalReason).HasColumnName("requested_reversal_reason").HasConversion<string>().HasMaxLength(20);
        builder.Property(p => p.CreatedAt).HasColumnName("created_at");
        builder.Property(p => p.UpdatedAt).HasColumnName("updated_at");
        builder.Property(p => p.HoldUntil).HasColumnName("hold_until");
        builder.Property(p => p.Version).HasColumnName("version").IsConcurrencyToken();
        builder.HasIndex(p => p.RequestId).IsUnique().HasDatabaseName("ix_payments_request_id");
        builder.HasIndex(p => p.ActiveTranId).IsUnique().HasDatabaseName("ix_payments_active_tran_id");
        builder.HasIndex(p => p.TranId).HasDatabaseName("ix_payments_tran_id");
        builder.HasIndex(p => p.UpstreamRequestId).IsUnique().HasDatabaseName("ix_payments_upstream_request_id");
        builder.HasIndex(p => new { p.CreatedAt, p.RequestId }).HasDatabaseName("ix_payments_created_at_request_id");
        builder.HasMany(p => p.Transitions).WithOne().HasForeignKey(t => t.PaymentId).HasConstraintName("fk_payment_transitions_payments");
        builder.Navigation(p => p.Transitions).UsePropertyAccessMode(PropertyAccessMode.Field);
    }
}

using Electrum.QrPayments.Api.Payments;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Electrum.QrPayments.Api.Persistence;

public sealed class ScanConfiguration : IEntityTypeConfiguration<Scan>
{
    public void Configure(EntityTypeBuilder<Scan> builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.ToTable("scans");
        builder.HasKey(s => s.Id).HasName("pk_scans");
        builder.Property(s => s.Id).HasColumnName("id").ValueGeneratedNever();
        builder.Property(s => s.MessageId).HasColumnName("message_id").HasMaxLength(36);
        builder.Property(s => s.TranId).HasColumnName("tran_id").HasMaxLength(32);
        builder.Property(s => s.PartnerId).HasColumnName("partner_id").HasMaxLength(100);
        builder.Property(s => s.PaymentId).HasColumnName("payment_id");
        builder.Property(s => s.ReceivedAt).HasColumnName("received_at");
        builder.HasIndex(s => s.MessageId).IsUnique().HasDatabaseName("ix_scans_message_id");
        // One scan per payment: the second scan for a matched payment loses here.
        builder.HasIndex(s => s.PaymentId).IsUnique().HasDatabaseName("ix_scans_payment_id");
    }
}

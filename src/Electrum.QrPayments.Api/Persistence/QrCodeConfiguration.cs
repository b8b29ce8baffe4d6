using Electrum.QrPayments.Api.QrCodes;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Electrum.QrPayments.Api.Persistence;

public sealed class QrCodeConfiguration : IEntityTypeConfiguration<QrCode>
{
    public void Configure(EntityTypeBuilder<QrCode> builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.ToTable("qr_codes");
        builder.HasKey(c => c.Id).HasName("pk_qr_codes");
        builder.Property(c => c.Id).HasColumnName("id").ValueGeneratedNever();
        builder.Property(c => c.TranId).HasColumnName("tran_id").HasMaxLength(32);
        builder.Property(c => c.RequestId).HasColumnName("request_id").HasMaxLength(36);
        builder.Property(c => c.ClientId).HasColumnName("client_id").HasMaxLength(100);
        builder.Property(c => c.Scheme).HasColumnName("scheme").HasConversion<string>().HasMaxLength(32);
        builder.Property(c => c.Payload).HasColumnName("payload").HasMaxLength(512);
        builder.Property(c => c.Amount).HasColumnName("amount");
        builder.Property(c => c.Currency).HasColumnName("currency").HasMaxLength(3);
        builder.Property(c => c.OverPaymentAllowed).HasColumnName("over_payment_allowed");
        builder.Property(c => c.PartPaymentAllowed).HasColumnName("part_payment_allowed");
        builder.Property(c => c.ExpiresAt).HasColumnName("expires_at");
        builder.Property(c => c.SingleUse).HasColumnName("single_use");
        builder.Property(c => c.CreatedAt).HasColumnName("created_at");
        // Unique indexes, not look-ups, stop duplicates: two racing requests cannot both insert.
        builder.HasIndex(c => c.TranId).IsUnique().HasDatabaseName("ix_qr_codes_tran_id");
        builder.HasIndex(c => c.RequestId).IsUnique().HasDatabaseName("ix_qr_codes_request_id");
    }
}

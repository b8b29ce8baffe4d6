using Electrum.QrPayments.Api.Payments;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Electrum.QrPayments.Api.Persistence;

public sealed class PaymentTransitionConfiguration : IEntityTypeConfiguration<PaymentTransition>
{
    public void Configure(EntityTypeBuilder<PaymentTransition> builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.ToTable("payment_transitions");
        builder.HasKey(t => t.Id).HasName("pk_payment_transitions");
        builder.Property(t => t.Id).HasColumnName("id").ValueGeneratedOnAdd();
        builder.Property(t => t.PaymentId).HasColumnName("payment_id");
        builder.Property(t => t.Version).HasColumnName("version");
        builder.Property(t => t.From).HasColumnName("from_state").HasConversion<string>().HasMaxLength(16);
        builder.Property(t => t.To).HasColumnName("to_state").HasConversion<string>().HasMaxLength(16);
        builder.Property(t => t.Cause).HasColumnName("cause").HasConversion<string>().HasMaxLength(32);
        builder.Property(t => t.At).HasColumnName("at");
        // One audit row per payment and version: a writer that lost the race for a version cannot
        // commit its rows (QrDbContext.VersionConflictIndex).
        builder.HasIndex(t => new { t.PaymentId, t.Version }).IsUnique().HasDatabaseName(QrDbContext.VersionConflictIndex);
    }
}

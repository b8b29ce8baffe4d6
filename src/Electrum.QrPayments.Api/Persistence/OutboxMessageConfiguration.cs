using Electrum.QrPayments.Api.Advices;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Electrum.QrPayments.Api.Persistence;

public sealed class OutboxMessageConfiguration : IEntityTypeConfiguration<OutboxMessage>
{
    public void Configure(EntityTypeBuilder<OutboxMessage> builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.ToTable("outbox");
        builder.HasKey(o => o.Id).HasName("pk_outbox");
        builder.Property(o => o.Id).HasColumnName("id").ValueGeneratedOnAdd();
        builder.Property(o => o.PaymentId).HasColumnName("payment_id");
        builder.Property(o => o.Kind).HasColumnName("kind").HasConversion<string>().HasMaxLength(16);
        builder.Property(o => o.PartnerId).HasColumnName("partner_id").HasMaxLength(100);
        builder.Property(o => o.MessageId).HasColumnName("message_id").HasMaxLength(36);
        builder.Property(o => o.Body).HasColumnName("body");
        builder.Property(o => o.State).HasColumnName("state").HasConversion<string>().HasMaxLength(16);
        builder.Property(o => o.Attempts).HasColumnName("attempts");
        builder.Property(o => o.CreatedAt).HasColumnName("created_at");
        builder.Property(o => o.NextAttemptAt).HasColumnName("next_attempt_at");
        builder.Property(o => o.LastStatus).HasColumnName("last_status");
        builder.Property(o => o.LastError).HasColumnName("last_error").HasMaxLength(200);
        builder.Property(o => o.CompletedAt).HasColumnName("completed_at");
        builder.Property(o => o.LeaseOwner).HasColumnName("lease_owner").HasMaxLength(64);
        builder.Property(o => o.LeaseUntil).HasColumnName("lease_until");
        builder.HasIndex(o => o.MessageId).IsUnique().HasDatabaseName("ix_outbox_message_id");
        builder.HasIndex(o => new { o.State, o.NextAttemptAt }).HasDatabaseName("ix_outbox_state_next_attempt_at");
        builder.HasIndex(o => new { o.PaymentId, o.Id }).HasDatabaseName("ix_outbox_payment_id_id");
    }
}

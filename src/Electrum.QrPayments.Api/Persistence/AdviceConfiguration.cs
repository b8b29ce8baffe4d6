using Electrum.QrPayments.Api.Advices;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Electrum.QrPayments.Api.Persistence;

public sealed class AdviceConfiguration : IEntityTypeConfiguration<Advice>
{
    public void Configure(EntityTypeBuilder<Advice> builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.ToTable("advices");
        builder.HasKey(a => a.Id).HasName("pk_advices");
        builder.Property(a => a.Id).HasColumnName("id").HasMaxLength(36);
        builder.Property(a => a.Kind).HasColumnName("kind").HasConversion<string>().HasMaxLength(16);
        builder.Property(a => a.RequestId).HasColumnName("request_id").HasMaxLength(36);
        builder.Property(a => a.ClientId).HasColumnName("client_id").HasMaxLength(100);
        builder.Property(a => a.BodyHash).HasColumnName("body_hash").HasMaxLength(64);
        builder.Property(a => a.ResponseStatus).HasColumnName("response_status");
        builder.Property(a => a.ResponseJson).HasColumnName("response_json");
        builder.Property(a => a.ReceivedAt).HasColumnName("received_at");
        builder.HasIndex(a => a.RequestId).HasDatabaseName("ix_advices_request_id");
    }
}

using Electrum.QrPayments.Api.Advices;
using Electrum.QrPayments.Api.Payments;
using Electrum.QrPayments.Api.QrCodes;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage.ValueConversion;

namespace Electrum.QrPayments.Api.Persistence;

public sealed class QrDbContext(DbContextOptions<QrDbContext> options) : DbContext(options)
{
    public DbSet<QrCode> QrCodes => Set<QrCode>();
    public DbSet<Payment> Payments => Set<Payment>();
    public DbSet<PaymentTransition> PaymentTransitions => Set<PaymentTransition>();
    public DbSet<Scan> Scans => Set<Scan>();
    public DbSet<Advice> Advices => Set<Advice>();
    public DbSet<OutboxMessage> Outbox => Set<OutboxMessage>();

    protected override void OnModelCreating(ModelBuilder modelBuilder) =>
        modelBuilder.ApplyConfigurationsFromAssembly(typeof(QrDbContext).Assembly);

    // Times are stored as UTC DateTime: SQLite cannot compare DateTimeOffset in SQL, and
    // PostgreSQL's timestamptz wants UTC anyway.
    protected override void ConfigureConventions(ModelConfigurationBuilder configurationBuilder)
    {
        ArgumentNullException.ThrowIfNull(configurationBuilder);
        configurationBuilder.Properties<DateTimeOffset>().HaveConversion<UtcDateTimeOffsetConverter>();
    }

    private sealed class UtcDateTimeOffsetConverter() : ValueConverter<DateTimeOffset, DateTime>(
        v => v.UtcDateTime,
        v => new DateTimeOffset(DateTime.SpecifyKind(v, DateTimeKind.Utc)));
}

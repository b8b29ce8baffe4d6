using Electrum.QrPayments.Api.Advices;
using Electrum.QrPayments.Api.Payments;
using Electrum.QrPayments.Api.QrCodes;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
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

    private SqliteWriteGate? writeGate;
    private bool gateLooked;

    /// <summary>True while a SaveChanges holds SQLite's write gate (its commands need not take it again).</summary>
    internal bool HoldsWriteGate { get; private set; }

    // SQLite: one writer at a time, queued here rather than meeting SQLITE_BUSY (see SqliteWriteGate).
    private SqliteWriteGate? WriteGate
    {
        get
        {
            if (!gateLooked)
            {
                writeGate = this.GetService<IDbContextOptions>().FindExtension<CoreOptionsExtension>()?.Interceptors?.OfType<SqliteWriteGate>().FirstOrDefault();
                gateLooked = true;
            }

            return writeGate;
        }
    }

    public override int SaveChanges(bool acceptAllChangesOnSuccess)
    {
        if (WriteGate is not { } gate)
        {
            return base.SaveChanges(acceptAllChangesOnSuccess);
        }

        gate.Enter();
        HoldsWriteGate = true;
        try
        {
            return base.SaveChanges(acceptAllChangesOnSuccess);
        }
        finally
        {
            HoldsWriteGate = false;
            gate.Leave();
        }
    }

    public override async Task<int> SaveChangesAsync(bool acceptAllChangesOnSuccess, CancellationToken cancellationToken = default)
    {
        if (WriteGate is not { } gate)
        {
            return await base.SaveChangesAsync(acceptAllChangesOnSuccess, cancellationToken);
        }

        await gate.EnterAsync(cancellationToken);
        HoldsWriteGate = true;
        try
        {
            return await base.SaveChangesAsync(acceptAllChangesOnSuccess, cancellationToken);
        }
        finally
        {
            HoldsWriteGate = false;
            gate.Leave();
        }
    }

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

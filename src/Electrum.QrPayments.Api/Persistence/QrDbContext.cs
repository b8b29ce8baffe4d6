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

    /// <summary>A copy of a payment's current values that no context tracks: what a signal carries to a waiter.</summary>
    public Payment Snapshot(Payment payment) => (Payment)Entry(payment).CurrentValues.ToObject();

    /// <summary>
    /// Tracks a copy of a payment another request just committed, as unchanged, in place of anything
    /// this context held: a save then succeeds only if nothing moved the payment since that commit.
    /// </summary>
    public Payment Adopt(Payment committed)
    {
        ChangeTracker.Clear();
        var mine = Snapshot(committed);
        Payments.Attach(mine);
        return mine;
    }

    private SqliteWriteGate? writeGate;
    private SqliteWriteLane? writeLane;
    private bool gateLooked;

    /// <summary>True while this context writes under SQLite's write gate (its commands need not take it again).</summary>
    internal bool HoldsWriteGate { get; private set; }

    // SQLite: one writer at a time, queued rather than meeting SQLITE_BUSY (SqliteWriteGate), and
    // writes of concurrent requests committed together (SqliteWriteLane).
    private SqliteWriteGate? WriteGate
    {
        get
        {
            if (!gateLooked)
            {
                var core = this.GetService<IDbContextOptions>().FindExtension<CoreOptionsExtension>();
                writeGate = core?.Interceptors?.OfType<SqliteWriteGate>().FirstOrDefault();
                writeLane = writeGate is null ? null : core?.ApplicationServiceProvider?.GetService<SqliteWriteLane>();
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
        var saved = await WriteAsync(() => base.SaveChangesAsync(acceptAllChangesOnSuccess: false, CancellationToken.None), cancellationToken);
        if (acceptAllChangesOnSuccess)
        {
            // Only now is the write committed (on SQLite, with its batch).
            ChangeTracker.AcceptAllChanges();
        }

        return saved;
    }

    /// <summary>
    /// Runs a write of this context (a save, an ExecuteUpdate): on SQLite in the write lane, so it is
    /// committed with the writes of other requests and returns once that commit is durable;
    /// elsewhere as it is. Cancellation counts only until the write starts.
    /// </summary>
    public async Task<T> WriteAsync<T>(Func<Task<T>> write, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(write);
        if (WriteGate is not { } gate)
        {
            return await write();
        }

        cancellationToken.ThrowIfCancellationRequested();
        if (writeLane is not { } lane || Database.CurrentTransaction is not null ||
            Database.GetDbConnection().State != System.Data.ConnectionState.Closed)
        {
            // A write inside this context's own transaction stays on its own connection, under the gate.
            await gate.EnterAsync(cancellationToken);
            HoldsWriteGate = true;
            try
            {
                return await write();
            }
            finally
            {
                HoldsWriteGate = false;
                gate.Leave();
            }
        }

        var result = default(T)!;
        await lane.RunAsync(async (connection, transaction) =>
        {
            var own = Database.GetConnectionString();
            Database.SetDbConnection(connection, contextOwnsConnection: false);
            var savepoints = Database.AutoSavepointsEnabled;
            try
            {
                // The lane keeps each write in a savepoint of its own.
                Database.AutoSavepointsEnabled = false;
                await Database.UseTransactionAsync(transaction);
                HoldsWriteGate = true;
                result = await write();
            }
            finally
            {
                HoldsWriteGate = false;
                await Database.UseTransactionAsync(null);
                Database.AutoSavepointsEnabled = savepoints;
                // Back to a connection of the context's own (the lane's stays open for the next write).
                Database.SetDbConnection(null, contextOwnsConnection: true);
                Database.SetConnectionString(own);
            }
        });
        return result;
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

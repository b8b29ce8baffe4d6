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
        int saved;
        try
        {
            saved = await WriteAsync(SaveUnacceptedAsync, cancellationToken);
        }
        catch (DbUpdateException e) when (e is not DbUpdateConcurrencyException && e.IsUniqueViolation(VersionConflictIndex, "payment_transitions.version"))
        {
            // Another writer made this payment version first: a failed version check by another name.
            throw new DbUpdateConcurrencyException(e.Message, e);
        }

        if (acceptAllChangesOnSuccess)
        {
            // Only now is the write committed (on SQLite, with its batch).
            ChangeTracker.AcceptAllChanges();
        }

        return saved;
    }

    /// <summary>The unique index on an audit row's payment and version, which no two writers of one version can both pass.</summary>
    public const string VersionConflictIndex = "ix_payment_transitions_payment_id_version";

    /// <summary>True while a save runs whose every row the database checks (see <see cref="DatabaseCheckedBatchFactory"/>).</summary>
    internal bool SavingCheckedRows { get; private set; }

    // EF wraps a save of more than one statement in BEGIN … COMMIT, one round trip and a server
    // transaction more, even when one batch carries them all. PostgreSQL runs a batch sent without
    // BEGIN as one implicit transaction: if any statement fails, none is written. What it cannot do
    // is fail a statement for EF's own check, the row count of a payment's versioned UPDATE, which
    // EF reads only after the batch ran. So only a save whose every row the database checks itself
    // (IsCheckedByDatabase) goes without BEGIN; EF still begins one if the save takes several
    // batches. SQLite's saves run inside the write lane's transaction.
    private async Task<int> SaveUnacceptedAsync()
    {
        SavingCheckedRows = WriteGate is null && Database.CurrentTransaction is null && IsCheckedByDatabase();
        try
        {
            return await base.SaveChangesAsync(acceptAllChangesOnSuccess: false, CancellationToken.None);
        }
        finally
        {
            SavingCheckedRows = false;
        }
    }

    // True when the database itself refuses every row of this save that must not be written: an
    // insert fails on its unique indexes, and a changed payment comes with the audit row of the
    // version it makes, which VersionConflictIndex refuses if another writer made that version first
    // (every version has its audit row: Payment.Touch, and the TransitionVersions migration gives
    // the newest existing row of each payment its current version). Anything else (a row updated
    // or deleted without such a check) keeps EF's transaction.
    private bool IsCheckedByDatabase()
    {
        foreach (var entry in ChangeTracker.Entries())
        {
            switch (entry.State)
            {
                case EntityState.Unchanged or EntityState.Detached or EntityState.Added:
                    continue;
                case EntityState.Modified when entry.Entity is Payment payment && payment.Transitions.Any(t =>
                    t.Version == payment.Version && Entry(t).State == EntityState.Added):
                    continue;
                default:
                    return false;
            }
        }

        return true;
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

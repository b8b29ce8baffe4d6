using Electrum.QrPayments.Api.Advices;
using Electrum.QrPayments.Api.Payments;
using Electrum.QrPayments.Api.QrCodes;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.ChangeTracking;
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
    private bool? isPostgres;

    /// <summary>
    /// Whether this context writes to PostgreSQL. Known once per pooled context: EF's IsNpgsql()
    /// compares assembly names on every call (1.8% of the service's CPU in a profile).
    /// </summary>
    public bool IsPostgres => isPostgres ??= Database.IsNpgsql();

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

    // EF wraps a save of more than one statement in BEGIN … COMMIT, one round trip and a server
    // transaction more, even when one batch carries them all. PostgreSQL runs a command of several
    // statements sent without BEGIN as one implicit transaction: if any statement fails, none is
    // written. What it cannot do is fail a statement for a versioned UPDATE that found no row, which
    // the client learns only after the command ran. So only a save whose every row the database
    // checks itself goes without BEGIN: new rows (their unique indexes) and a payment change that
    // carries its audit row (IsCheckedChange). Such a save, which is every save of the hot path, is
    // written by DirectSave as one command; anything else goes through EF, with its transaction.
    // SQLite's saves run inside the write lane's transaction.
    private async Task<int> SaveUnacceptedAsync()
    {
        // Changes are detected once: listing the entries and looking at each one would detect them
        // again (as EF's own save also turns detection off while it runs).
        var detect = ChangeTracker.AutoDetectChangesEnabled;
        if (detect)
        {
            ChangeTracker.DetectChanges();
        }

        ChangeTracker.AutoDetectChangesEnabled = false;
        try
        {
            if (DirectSave.Rows(this, IsCheckedChange) is { } rows && CanWriteDirectly(rows.Count))
            {
                return await DirectSave.WriteAsync(this, rows);
            }

            return await base.SaveChangesAsync(acceptAllChangesOnSuccess: false, CancellationToken.None);
        }
        finally
        {
            ChangeTracker.AutoDetectChangesEnabled = detect;
        }
    }

    // Outside a transaction one statement is atomic alone, and several only on PostgreSQL (one
    // implicit transaction). Inside one, only where no savepoint of EF's is expected around the save
    // (SQLite's write lane keeps one per write itself): a failed save must not spoil the rest.
    private bool CanWriteDirectly(int statements) =>
        Database.CurrentTransaction is null
            ? statements == 1 || IsPostgres
            : !Database.AutoSavepointsEnabled;

    // A changed payment that carries the audit row of the version it makes: VersionConflictIndex
    // refuses that row if another writer made the version first (every version has its audit row:
    // Payment.Touch, and the TransitionVersions migration gave the newest existing row of each
    // payment its current version).
    private bool IsCheckedChange(EntityEntry entry) =>
        entry.Entity is Payment payment && payment.Transitions.Any(t => t.Version == payment.Version && Entry(t).State == EntityState.Added);

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

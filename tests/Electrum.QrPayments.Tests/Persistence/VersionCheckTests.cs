using System.Data.Common;
using Electrum.QrPayments.Api.Payments;
using Electrum.QrPayments.Api.Persistence;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.EntityFrameworkCore.Infrastructure;

namespace Electrum.QrPayments.Tests.Persistence;

/// <summary>
/// A payment's change is saved only by the writer whose version is still current, and a save is
/// all or nothing, whether it runs in a transaction (SQLite's write lane, or EF's own) or PostgreSQL runs it
/// as one implicit transaction (QrDbContext.IsCheckedChange, Persistence/DirectSave).
/// </summary>
public class VersionCheckTests
{
    private static readonly DateTimeOffset Now = DateTimeOffset.UtcNow;

    [Theory]
    [Databases]
    public async Task SaveChanges_TwoWritersFromOneVersion_SecondRefusedAndNoneOfItsRowsWritten(Db db)
    {
        await using var service = new QrService(TestDatabase.Create(db));
        var held = await InsertHeldAsync(service);

        var first = await MatchAsync(service, held, "scan-first", "partner-1");
        var second = await Record.ExceptionAsync(() => MatchAsync(service, held, "scan-second", "partner-2"));

        Assert.Equal(1, first);
        Assert.IsType<DbUpdateConcurrencyException>(second);
        var (payment, scans, versions) = await ReadAsync(service, held.Id);
        Assert.Equal(("partner-1", 1), (payment.PartnerId, payment.Version));
        Assert.Equal(["scan-first"], scans);
        Assert.Equal([0, 1], versions);
    }

    [Theory]
    [Databases]
    public async Task SaveChanges_LaterRowOfTheSaveRefused_PaymentChangeNotWrittenEither(Db db)
    {
        await using var service = new QrService(TestDatabase.Create(db));
        var held = await HeldWithScanIdTakenAsync(service, "scan-used");

        // The payment's own row is fine; the scan row reuses a scan id and is refused.
        var refused = await Record.ExceptionAsync(() => MatchAsync(service, held, "scan-used", "partner-1"));

        AssertScanIdRefused(refused);
        await AssertNotMovedAsync(service, held.Id, version: 0);
    }

    [PostgresFact]
    public async Task SaveChanges_PaymentChangeWithItsRows_OnPostgresOneCommandWithoutTransaction()
    {
        var counter = new Counter();
        await using var service = new QrService(TestDatabase.Create(Db.Postgres)) { Interceptor = counter };
        var held = await InsertHeldAsync(service);
        counter.Reset();

        await MatchAsync(service, held, "scan-1", "partner-1");

        // Background work may run commands meanwhile, but never one that writes scans.
        var command = Assert.Single(counter.Texts, t => t.Contains("INSERT INTO scans", StringComparison.Ordinal));
        Assert.Contains("UPDATE payments", command, StringComparison.Ordinal);
        Assert.Contains("INSERT INTO payment_transitions", command, StringComparison.Ordinal);
        Assert.Equal(0, counter.Transactions);
    }

    [PostgresFact]
    public async Task SaveChanges_PaymentChangedWithoutItsAuditRow_OnPostgresKeepsTheTransaction()
    {
        var counter = new Counter();
        await using var service = new QrService(TestDatabase.Create(Db.Postgres)) { Interceptor = counter };
        var held = await InsertHeldAsync(service);
        counter.Reset();

        // Only a change the aggregate made carries its audit row; a bare column change does not.
        await service.WithDbAsync(async d =>
        {
            var payment = d.Adopt(held);
            d.Entry(payment).Property(p => p.PartnerName).CurrentValue = "edited";
            d.Scans.Add(NewScan(payment, "scan-1", "partner-1"));
            return await d.SaveChangesAsync();
        });

        Assert.Equal(1, counter.Transactions);
    }

    // The direct save counts what it wrote: a versioned UPDATE that found its version gone writes no
    // row, and the save fails as a lost race even when no audit row stood in its way (here the
    // version was moved by hand, past the invariant that every version has its audit row). In
    // SQLite's write lane the save's own rows are rolled back with it. (PostgreSQL has committed
    // its implicit transaction by then: there the audit row's unique index is the check.)
    [Fact]
    public async Task SaveChanges_VersionGoneWithoutItsAuditRowInTheWriteLane_RefusedAndNothingWritten()
    {
        await using var service = new QrService(TestDatabase.Create(Db.Sqlite));
        var held = await InsertHeldAsync(service);
        await service.WithDbAsync(d => d.Database.ExecuteSqlAsync($"UPDATE payments SET version = 5 WHERE id = {held.Id}"));

        var refused = await Record.ExceptionAsync(() => MatchAsync(service, held, "scan-1", "partner-1"));

        Assert.IsType<DbUpdateConcurrencyException>(refused);
        await AssertNotMovedAsync(service, held.Id, version: 5);
    }

    // A context built without the service has no write lane on SQLite and no transaction of its
    // own: a save of several rows must still be all or nothing there.
    [Theory]
    [Databases]
    public async Task SaveChanges_LaterRowRefusedInABareContext_PaymentChangeNotWrittenEither(Db db)
    {
        await using var service = new QrService(TestDatabase.Create(db));
        var held = await HeldWithScanIdTakenAsync(service, "scan-used");

        await using (var context = new QrDbContext(BareOptions(db, service.Database)))
        {
            Match(context, held, "scan-used", "partner-1");

            AssertScanIdRefused(await Record.ExceptionAsync(() => context.SaveChangesAsync()));
        }

        await AssertNotMovedAsync(service, held.Id, version: 0);
    }

    // Keys the database generates come back: the audit rows hold their ids once saved, and a second
    // change saved by the same context writes only its own new row.
    [Theory]
    [Databases]
    public async Task SaveChanges_TwoChangesInOneContext_GeneratedIdsReadBackAndEachRowWrittenOnce(Db db)
    {
        await using var service = new QrService(TestDatabase.Create(db));
        var ids = await service.WithDbAsync(async d =>
        {
            var payment = Payment.Request(Guid.NewGuid().ToString(), QrService.Client, Guid.NewGuid().ToString("N")[..20], 10000, "710", "{}", Now, Now.AddSeconds(30));
            d.Payments.Add(payment);
            await d.SaveChangesAsync();
            payment.MatchScan("partner-1", null, null, Now);
            await d.SaveChangesAsync();
            Assert.All(d.ChangeTracker.Entries(), e => Assert.Equal(EntityState.Unchanged, e.State));
            return (payment.Id, payment.Transitions.Select(t => t.Id).ToList());
        });

        var stored = await service.WithDbAsync(d => d.PaymentTransitions.AsNoTracking().Where(t => t.PaymentId == ids.Id).OrderBy(t => t.Version)
            .Select(t => new { t.Id, t.Version }).ToListAsync());
        Assert.Equal([0, 1], stored.Select(t => t.Version));
        Assert.Equal(stored.Select(t => t.Id), ids.Item2);
        Assert.All(ids.Item2, id => Assert.True(id > 0));
    }

    // Without BEGIN only one command is one implicit transaction. EF splits a save into several
    // batches (here by a batch size of 2); the direct save never does, so a checked save of three
    // rows is still one command and needs no transaction, and all three rows are written.
    [PostgresFact]
    public async Task SaveChanges_CheckedSaveBeyondEFsBatchSize_OneCommandWithoutTransaction()
    {
        await using var service = new QrService(TestDatabase.Create(Db.Postgres));
        var held = await InsertHeldAsync(service);
        var counter = new Counter();
        var options = new DbContextOptionsBuilder<QrDbContext>()
            .UseNpgsql(service.Database.ConnectionString, o => o.MaxBatchSize(2))
            .AddInterceptors(counter)
            .Options;
        await using (var context = new QrDbContext(options))
        {
            Match(context, held, "scan-1", "partner-1");

            Assert.Equal(3, await context.SaveChangesAsync());
        }

        Assert.Single(counter.Texts);
        Assert.Equal(0, counter.Transactions);
        var (written, scans, versions) = await ReadAsync(service, held.Id);
        Assert.Equal((PaymentState.Forwarded, "partner-1", 1), (written.State, written.PartnerId, written.Version));
        Assert.Equal(["scan-1"], scans);
        Assert.Equal([0, 1], versions);
    }

    // Earlier builds bumped the version without an audit row on a reversal request: payment 0 is at
    // version 4 with three rows. Numbered back from the current version, its newest row carries it,
    // so a writer still holding version 3 is refused by the database, not only by EF's row count.
    [Theory]
    [Databases]
    public async Task Migrate_AuditRowsWrittenBefore_NumberedBackFromTheCurrentVersionSoAStaleWriterIsRefused(Db db)
    {
        var database = TestDatabase.Create(db);
        Guid[] payments = [Guid.NewGuid(), Guid.NewGuid()];
        await using (var context = new QrDbContext(BareOptions(db, database)))
        {
            var migrator = context.GetService<Microsoft.EntityFrameworkCore.Migrations.IMigrator>();
            await migrator.MigrateAsync("20261202000000_OpsIndexes");
            var at = DateTime.UtcNow;
            foreach (var (id, version) in new[] { (payments[0], 4), (payments[1], 2) })
            {
                var requestId = id.ToString();
                await context.Database.ExecuteSqlAsync($@"INSERT INTO payments (id, request_id, client_id, state, amount, currency, upstream_request_id,
                    request_json, reversal_requested, created_at, updated_at, hold_until, version)
                    VALUES ({id}, {requestId}, 'pos-1', 'Approved', 100, '710', {requestId}, '{{}}', FALSE, {at}, {at}, {at}, {version})");
            }

            // Interleaved, as concurrent payments write them.
            foreach (var (id, to) in new[] { (payments[0], "AwaitingScan"), (payments[1], "AwaitingScan"), (payments[0], "Forwarded"),
                         (payments[1], "Forwarded"), (payments[0], "Approved"), (payments[1], "Approved") })
            {
                await context.Database.ExecuteSqlAsync($"INSERT INTO payment_transitions (payment_id, to_state, cause, at) VALUES ({id}, {to}, 'PaymentRequested', {at})");
            }

            await migrator.MigrateAsync();

            var rows = await context.PaymentTransitions.AsNoTracking().OrderBy(t => t.Id).Select(t => new { t.PaymentId, t.To, t.Version }).ToListAsync();
            Assert.Equal([2, 3, 4], rows.Where(r => r.PaymentId == payments[0]).Select(r => r.Version));
            Assert.Equal([0, 1, 2], rows.Where(r => r.PaymentId == payments[1]).Select(r => r.Version));
            Assert.Equal([PaymentState.AwaitingScan, PaymentState.Forwarded, PaymentState.Approved], rows.Where(r => r.PaymentId == payments[1]).Select(r => r.To));
        }

        await using var service = new QrService(database);
        var current = await service.WithDbAsync(d => d.Payments.AsNoTracking().SingleAsync(p => p.Id == payments[0]));
        var stale = await service.WithDbAsync(async d =>
        {
            var copy = d.Snapshot(current);
            d.Entry(copy).Property(p => p.Version).CurrentValue = 3;
            return copy;
        });

        var refused = await Record.ExceptionAsync(() => ConfirmAsync(service, stale));
        var confirmed = await ConfirmAsync(service, current);

        Assert.IsType<DbUpdateConcurrencyException>(refused);
        Assert.Equal(5, confirmed);
        Assert.Equal([2, 3, 4, 5], await service.WithDbAsync(d =>
            d.PaymentTransitions.Where(t => t.PaymentId == payments[0]).OrderBy(t => t.Version).Select(t => t.Version).ToListAsync()));
    }

    // Down must leave what an earlier build can read (it knows no ReversalRequested cause), and Up
    // again must number the rows that are left.
    [Theory]
    [Databases]
    public async Task Migrate_DownPastTransitionVersionsAndUpAgain_UnreadableRowsGoneAndTheRestNumbered(Db db)
    {
        await using var database = TestDatabase.Create(db);
        await using var context = new QrDbContext(BareOptions(db, database));
        var migrator = context.GetService<Microsoft.EntityFrameworkCore.Migrations.IMigrator>();
        await migrator.MigrateAsync();
        var payment = Payment.Request(Guid.NewGuid().ToString(), QrService.Client, "tran-down", 10000, "710", "{}", Now, Now.AddSeconds(30));
        payment.MatchScan("partner-1", null, null, Now);
        payment.RequestReversal(Contracts.Models.ReversalReason.Cancelled, Now);
        context.Payments.Add(payment);
        await context.SaveChangesAsync();

        await migrator.MigrateAsync("20261202000000_OpsIndexes");
        var causes = await context.Database.SqlQuery<string>($"SELECT cause AS \"Value\" FROM payment_transitions ORDER BY id").ToListAsync();
        await migrator.MigrateAsync();

        Assert.Equal(["PaymentRequested", "ScanMatched"], causes);
        Assert.Equal([1, 2], await context.PaymentTransitions.AsNoTracking().OrderBy(t => t.Id).Select(t => t.Version).ToListAsync());
    }

    // A context on the test's database without the service (and so without SQLite's write gate and lane).
    private static DbContextOptions<QrDbContext> BareOptions(Db db, TestDatabase database)
    {
        var options = new DbContextOptionsBuilder<QrDbContext>();
        _ = db == Db.Postgres ? options.UseNpgsql(database.ConnectionString) : options.UseSqlite(database.ConnectionString);
        return options.Options;
    }

    private static Task<int> ConfirmAsync(QrService service, Payment copy) => service.WithDbAsync(async d =>
    {
        var payment = d.Adopt(copy);
        payment.Confirm(Now);
        await d.SaveChangesAsync();
        return payment.Version;
    });

    private static Task<Payment> InsertHeldAsync(QrService service) => service.WithDbAsync(async d =>
    {
        var tranId = Guid.NewGuid().ToString("N")[..20];
        var payment = Payment.Request(Guid.NewGuid().ToString(), QrService.Client, tranId, 10000, "710", "{}", Now, Now.AddSeconds(30));
        d.Payments.Add(payment);
        await d.SaveChangesAsync();
        return d.Snapshot(payment);
    });

    // What a scan does: moves the payment it holds a copy of, and records the scan, in one save.
    private static Task<int> MatchAsync(QrService service, Payment copy, string scanId, string partnerId) => service.WithDbAsync(async d =>
    {
        var payment = Match(d, copy, scanId, partnerId);
        await d.SaveChangesAsync();
        return payment.Version;
    });

    private static Payment Match(QrDbContext context, Payment copy, string scanId, string partnerId)
    {
        var payment = context.Adopt(copy);
        payment.MatchScan(partnerId, null, null, Now);
        context.Scans.Add(NewScan(payment, scanId, partnerId));
        return payment;
    }

    // A held payment, and another that a scan with this id already matched.
    private static async Task<Payment> HeldWithScanIdTakenAsync(QrService service, string scanId)
    {
        var other = await InsertHeldAsync(service);
        var held = await InsertHeldAsync(service);
        await MatchAsync(service, other, scanId, "partner-1");
        return held;
    }

    private static void AssertScanIdRefused(Exception? refused) =>
        Assert.True(Assert.IsType<DbUpdateException>(refused).IsUniqueViolation("ix_scans_message_id", "scans.message_id"));

    // Nothing of a refused save was written: the payment is where it was, with no scan and one audit row.
    private static async Task AssertNotMovedAsync(QrService service, Guid id, int version)
    {
        var (payment, scans, versions) = await ReadAsync(service, id);
        Assert.Equal((PaymentState.AwaitingScan, version), (payment.State, payment.Version));
        Assert.Empty(scans);
        Assert.Equal([0], versions);
    }

    private static Scan NewScan(Payment payment, string scanId, string partnerId) => new()
    {
        Id = Guid.NewGuid(),
        MessageId = scanId,
        TranId = payment.TranId!,
        PartnerId = partnerId,
        PaymentId = payment.Id,
        ReceivedAt = Now,
    };

    private static Task<(Payment Payment, List<string> Scans, List<int> Versions)> ReadAsync(QrService service, Guid id) => service.WithDbAsync(async d =>
        (await d.Payments.AsNoTracking().SingleAsync(p => p.Id == id),
         await d.Scans.Where(s => s.PaymentId == id).Select(s => s.MessageId).ToListAsync(),
         await d.PaymentTransitions.Where(t => t.PaymentId == id).OrderBy(t => t.Version).Select(t => t.Version).ToListAsync()));

    // Every command's SQL (through the suite's CommandTextCounter) and every transaction begun.
    private sealed class Counter : CommandTextCounter, IDbTransactionInterceptor
    {
        private readonly System.Collections.Concurrent.ConcurrentQueue<string> texts = new();
        private int transactions;

        public IReadOnlyCollection<string> Texts => texts;
        public int Transactions => Volatile.Read(ref transactions);

        public void Reset()
        {
            texts.Clear();
            Volatile.Write(ref transactions, 0);
        }

        protected override void Count(string sql) => texts.Enqueue(sql);

        public ValueTask<InterceptionResult<DbTransaction>> TransactionStartingAsync(DbConnection connection, TransactionStartingEventData eventData,
            InterceptionResult<DbTransaction> result, CancellationToken cancellationToken = default)
        {
            Interlocked.Increment(ref transactions);
            return ValueTask.FromResult(result);
        }
    }
}

using System.Diagnostics;
using Electrum.QrPayments.Api.Ops;
using Electrum.QrPayments.Api.Partners;
using Electrum.QrPayments.Api.Persistence;
using Electrum.QrPayments.Contracts.Models;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Electrum.QrPayments.Api.Advices;

/// <summary>
/// Delivers outbox rows to partners. An item is leased, by the instance that accepted it in the
/// same transaction (<see cref="TryLease"/>) or by a conditional UPDATE of a pass, so several
/// dispatchers (several instances) never send it at once, and a crashed holder's lease just
/// runs out. A pass claims the advices accepted here while no slot was free by id, or else what a
/// search finds due; a search lists what it finds beyond the free slots, so a backlog is claimed
/// by id too. Per payment only the oldest pending item is eligible, so advices arrive in
/// order. Deliveries run concurrently, at most <see cref="OutboxOptions.BatchSize"/> in all and
/// <see cref="OutboxOptions.PartnerConcurrency"/> calls per partner, and the dispatcher keeps claiming
/// while they are in flight: a partner that hangs holds its own slots, never another's. Delivered
/// and failed outcomes end an item; unknown ones retry with capped exponential backoff and
/// jitter, with the same message id every time. The attempt is counted when the item is leased,
/// so a delivery whose result cannot be recorded still counts.
/// </summary>
public sealed partial class OutboxDispatcher(
    IServiceScopeFactory scopes,
    PartnerGateway partners,
    OutboxSignal signal,
    IOptions<OutboxOptions> outboxOptions,
    IOptions<QrPaymentsOptions> options,
    TimeProvider time,
    QrMetrics metrics,
    ILogger<OutboxDispatcher> logger) : BackgroundService
{
    /// <summary>The longest partner text kept in last_error (the column's length).</summary>
    public const int MaxErrorLength = 200;

    /// <summary>
    /// The most advices that wait on the list for a slot: accepted here while no slot was free, or
    /// found due by a search beyond the free slots. Beyond it a search finds them.
    /// </summary>
    public const int MaxWaiting = 256;

    // The most rows of one partner a search keeps listed, so one partner's backlog leaves room for others.
    private const int MaxListedPerPartner = MaxWaiting / 4;

    /// <summary>A lease lasts PartnerTimeout plus this: longer than any call, with room to record its result.</summary>
    public static readonly TimeSpan LeaseMargin = TimeSpan.FromSeconds(5);

    private readonly string owner = $"{Environment.ProcessId}-{Guid.NewGuid():N}";
    private readonly OutboxOptions settings = outboxOptions.Value;
    // Per partner: its calls (reserved or in flight), and its deliveries (those calls and the answers
    // still being recorded), so a partner whose answers wait for the database cannot take every slot.
    private readonly Dictionary<string, int> busyPartners = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> partnerDeliveries = new(StringComparer.Ordinal);
    // Deliveries in flight, by outbox item id: calling the partner or recording what it said.
    private readonly Dictionary<long, Task> deliveries = [];
    // Those of them still calling the partner: only these hold a partner's slot, so a slot frees the
    // moment its call ends, not after the result's commit (which may wait for others' writes).
    private readonly HashSet<long> calling = [];
    private readonly Lock gate = new();
    private long passes;
    // Slots promised to advices whose transactions have not committed yet (see TryLease).
    private int reserved;
    // Set while due items of any partner may be waiting for a free slot, so a finished delivery
    // wakes a pass and the pass searches.
    private bool backlog = true;
    // Partners whose due rows the last search left in the database (more than it could take or
    // list): a pass searches again once one of them has a free slot and nothing listed to fill it.
    private readonly HashSet<string> behind = new(StringComparer.Ordinal);
    // Set when a pass found every slot taken, so the next finished delivery wakes one.
    private bool full;
    // Advices accepted here while no slot was free (see TryLease), oldest first, and how many more
    // are promised by transactions not yet committed: a pass claims them by id, with no search.
    private readonly List<OutboxMessage> waiting = [];
    private int promisedWaits;
    // When a pass last searched; one searches at least every PollInterval while passes run, so rows
    // waiting in the database (retries, what a crashed instance left) take their turn.
    private DateTimeOffset lastSearch = DateTimeOffset.MinValue;
    private CancellationToken stopping;
    private bool running;

    /// <summary>Deliveries in flight right now.</summary>
    public int InFlight
    {
        get
        {
            lock (gate)
            {
                return deliveries.Count;
            }
        }
    }

    /// <summary>Advices of one partner on the list right now.</summary>
    internal int ListedFor(string partnerId)
    {
        lock (gate)
        {
            return waiting.Count(w => w.PartnerId == partnerId);
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        lock (gate)
        {
            stopping = stoppingToken;
            running = true;
        }

        while (!stoppingToken.IsCancellationRequested)
        {
            var more = false;
            try
            {
                more = await ClaimAndStartAsync(stoppingToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // A database hiccup must not stop delivery; the rows are still there next pass.
                LogPassFailed(logger, e);
            }
            catch (OperationCanceledException)
            {
                break;
            }

            if (!more)
            {
                try
                {
                    // Woken by a new item, a finished delivery (a slot is free), or the poll interval.
                    await signal.WaitAsync(settings.PollInterval, stoppingToken);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
        }

        // In-flight calls were cancelled with stoppingToken; let them record that before we go.
        Task[] inFlight;
        lock (gate)
        {
            running = false;
            inFlight = [.. deliveries.Values];
        }

        await Task.WhenAll(inFlight);
    }

    /// <summary>
    /// One pass: claims what is due and fits the free slots, and starts delivering it. A search
    /// gives the free slots to rows in the database that are not on this dispatcher's list first,
    /// and lists what it finds beyond them; it runs at least every PollInterval, and sooner when
    /// rows of any partner may be due (someone queued rows, a pass failed), or when a partner the
    /// last search left rows behind for has a free slot and nothing listed to fill it. The advices
    /// on the list fill the slots left, claimed by id with no search. True when it should run again
    /// at once (it filled every free slot, or lost claims that other items may take the place of).
    /// </summary>
    private async Task<bool> ClaimAndStartAsync(CancellationToken ct)
    {
        var now = time.GetUtcNow();
        int room;
        bool search;
        long[] listed;
        lock (gate)
        {
            room = settings.BatchSize - deliveries.Count - reserved;
            // Every slot taken: wait for one to free. Not a reason to search then: what the last
            // search left behind is in `behind`, and rows queued meanwhile are still to be taken.
            full = room <= 0;
            if (full)
            {
                return false;
            }

            // Rows queued elsewhere in this process (a timeout reversal, a re-queue) are found by a search.
            backlog |= signal.TakeQueued();
            // A partner the last search left rows behind for is searched for again only once it has
            // a free slot that nothing listed for it can fill: until then freed slots take its
            // listed rows by id, so a backlog costs a search per refill of the list, not one per
            // delivery. Rows of unknown partners (queued here, a failed pass) are searched for at
            // once, and the poll searches every PollInterval whatever the list holds.
            search = now - lastSearch >= settings.PollInterval || backlog ||
                     behind.Any(p => HasFreeSlot(p) && !waiting.Exists(w => w.PartnerId == p));
            listed = [.. waiting.Select(w => w.Id)];
            if (!search && !waiting.Any(w => HasFreeSlot(w.PartnerId)))
            {
                // Nothing on the list fits a free slot, and nothing is known to wait in the database.
                return false;
            }
        }

        List<OutboxMessage> picked = [];
        List<OutboxMessage> claimed = [];
        var failed = true;
        try
        {
            await using var scope = scopes.CreateAsyncScope();
            var db = scope.ServiceProvider.GetRequiredService<QrDbContext>();
            if (search)
            {
                lastSearch = now;
                picked = await SearchAsync(db, now, listed, ct);
            }

            lock (gate)
            {
                // An advice listed during the search may have been found by it too.
                var found = picked.Select(p => p.Id).ToHashSet();
                waiting.RemoveAll(w => found.Contains(w.Id));
                picked.AddRange(TakeWaiting());
            }

            if (picked.Count > 0)
            {
                // Longer than any delivery (bounded by PartnerTimeout); a killed holder's items wait no longer than this.
                var leaseUntil = now + options.Value.PartnerTimeout + LeaseMargin;
                // A token per claim: a delivery whose lease ran out can no longer record over a later claim of the same item.
                var lease = $"{owner}-{Interlocked.Increment(ref passes)}";
                claimed = db.IsPostgres
                    ? await ClaimWithSkipLockedAsync(db, picked, lease, now, leaseUntil)
                    : await ClaimOneByOneAsync(db, picked, lease, now, leaseUntil, ct);
            }

            failed = false;
        }
        finally
        {
            lock (gate)
            {
                var won = claimed.Select(o => o.Id).ToHashSet();
                foreach (var item in picked)
                {
                    reserved--;
                    // Each won row keeps one slot; any other copy of it gives its slot back.
                    if (!won.Remove(item.Id))
                    {
                        Release(item.PartnerId);
                    }
                }

                foreach (var item in claimed.OrderBy(o => o.Id))
                {
                    Launch(item);
                }

                // What was picked and not won is gone from the list: another instance has it, or
                // (after a failure) a search finds it.
                backlog |= failed;
            }
        }

        return picked.Count > 0 && (claimed.Count == room || claimed.Count < picked.Count);
    }

    // Under the lock: the advices on the list whose partner has a free slot, oldest first, each with
    // its slot taken, and off the list. One another instance sends meanwhile is just not won by the
    // claim; one in flight here already (a search claimed it before it was listed) is dropped.
    private List<OutboxMessage> TakeWaiting()
    {
        waiting.RemoveAll(w => deliveries.ContainsKey(w.Id));
        var taken = waiting.Where(item => TryReserve(item.PartnerId)).ToList();
        waiting.RemoveAll(taken.Contains);
        return taken;
    }

    // What is due in the database and not on the list: what fits the free slots, each with its slot
    // taken, and behind that as much as the list has room for, put on the list to be claimed by id
    // as slots free up (another instance may take a listed row first; the claim then just loses it).
    private async Task<List<OutboxMessage>> SearchAsync(QrDbContext db, DateTimeOffset now, long[] listed, CancellationToken ct)
    {
        Dictionary<string, int> busy;
        Dictionary<string, int> delivering;
        HashSet<long> ours;
        int spare;
        Dictionary<string, int> listedFor;
        lock (gate)
        {
            busy = new Dictionary<string, int>(busyPartners, StringComparer.Ordinal);
            delivering = new Dictionary<string, int>(partnerDeliveries, StringComparer.Ordinal);
            ours = [.. deliveries.Keys];
            spare = ListRoom;
            listedFor = waiting.CountBy(w => w.PartnerId, StringComparer.Ordinal).ToDictionary(StringComparer.Ordinal);
        }

        // Each partner's oldest due items, no more than its free slots and the list's room, oldest
        // first overall: a partner with a backlog cannot crowd out another, and nothing is claimed
        // only to be handed back.
        var perPartner = settings.PartnerConcurrency;
        IQueryable<OutboxMessage> Due() => db.Outbox.AsNoTracking()
            .Where(o => o.State == OutboxState.Pending && o.NextAttemptAt <= now && (o.LeaseUntil == null || o.LeaseUntil < now))
            .Where(o => !listed.Contains(o.Id))
            .Where(o => !db.Outbox.Any(e => e.PaymentId == o.PaymentId && e.State == OutboxState.Pending && e.Id < o.Id));
        var duePartners = await Due().Select(o => o.PartnerId).Distinct().ToListAsync(ct);
        var heads = new List<OutboxMessage>();
        var left = new HashSet<string>(StringComparer.Ordinal);
        foreach (var partnerId in duePartners)
        {
            var take = Math.Max(0, Math.Min(perPartner - busy.GetValueOrDefault(partnerId), PartnerDeliveries - delivering.GetValueOrDefault(partnerId))) +
                       Math.Min(spare, Math.Max(0, MaxListedPerPartner - listedFor.GetValueOrDefault(partnerId)));
            var found = take == 0 ? [] : await Due().Where(o => o.PartnerId == partnerId).OrderBy(o => o.Id).Take(take).ToListAsync(ct);
            if (found.Count == take)
            {
                // It may have more than it was asked for.
                left.Add(partnerId);
            }

            heads.AddRange(found);
        }

        // An item still in flight here whose lease ran out (its result slow to record) is not sent twice at once.
        var candidates = heads.Where(h => !ours.Contains(h.Id)).OrderBy(h => h.Id).ToList();
        lock (gate)
        {
            // Hand-offs may have taken slots and places on the list meanwhile: take what still fits,
            // and list what is left (not twice: an advice listed during the search may be among it).
            var fits = candidates.Where(item => TryReserve(item.PartnerId)).ToList();
            var onList = waiting.Select(w => w.Id).ToHashSet();
            var unlisted = candidates.Except(fits).Where(item => !onList.Contains(item.Id)).ToList();
            var listing = unlisted.Take(ListRoom).ToList();
            waiting.AddRange(listing);
            left.UnionWith(unlisted.Skip(listing.Count).Select(item => item.PartnerId));
            // Every partner's due rows were seen; those left behind are searched for again.
            backlog = false;
            behind.Clear();
            behind.UnionWith(left);
            return fits;
        }
    }

    /// <summary>
    /// For an advice about to be committed (added to a context not yet saved). When a slot is free, leases it
    /// to this dispatcher in that same transaction (its first attempt counted, as a claim would):
    /// <see cref="DeliverySlot.Start"/> after the commit delivers it at once, with no search and no
    /// claim. Otherwise it stays an ordinary due row that any instance may claim, and Start puts it
    /// on this dispatcher's list, so the next pass here with a slot free for its partner claims it
    /// by id, with no search. Null when the dispatcher is stopping, or
    /// <see cref="MaxWaiting"/> advices already wait here: a search finds the row then. Each
    /// payment has at most one advice for a partner, so this never overtakes an older one.
    /// </summary>
    public DeliverySlot? TryLease(OutboxMessage item)
    {
        ArgumentNullException.ThrowIfNull(item);
        bool slotted;
        lock (gate)
        {
            if (!running || stopping.IsCancellationRequested)
            {
                backlog = true;
                return null;
            }

            slotted = TryReserve(item.PartnerId);
            if (!slotted)
            {
                if (ListRoom == 0)
                {
                    backlog = true;
                    return null;
                }

                promisedWaits++;
                return new DeliverySlot(this, item, slotted);
            }

            item.LeaseOwner = $"{owner}-{Interlocked.Increment(ref passes)}";
        }

        item.LeaseUntil = time.GetUtcNow() + options.Value.PartnerTimeout + LeaseMargin;
        item.Attempts = 1;
        return new DeliverySlot(this, item, slotted);
    }

    /// <summary>
    /// A slot (or a place on the list of advices waiting here) taken by <see cref="TryLease"/>:
    /// started once the advice is committed, given back otherwise.
    /// </summary>
    public sealed class DeliverySlot(OutboxDispatcher dispatcher, OutboxMessage item, bool slotted) : IDisposable
    {
        private bool done;

        /// <summary>
        /// Delivers the committed advice now if it was leased, its lease still outlasts a whole call
        /// (the commit may have waited) and the dispatcher is not stopping (otherwise the slot is
        /// given back and a pass claims the advice once its lease runs out); or puts it on the list
        /// for the next free slot.
        /// </summary>
        public void Start()
        {
            bool launched;
            lock (dispatcher.gate)
            {
                if (!Settle())
                {
                    return;
                }

                if (slotted)
                {
                    launched = dispatcher.LaunchLeased(item);
                }
                else
                {
                    // A search may have found it committed before this ran, and listed or started it.
                    if (!dispatcher.waiting.Exists(w => w.Id == item.Id) && !dispatcher.deliveries.ContainsKey(item.Id))
                    {
                        dispatcher.waiting.Add(item);
                    }

                    // A slot for it may have freed meanwhile; if not, a finished delivery wakes the pass.
                    launched = !dispatcher.HasFreeSlot(item.PartnerId);
                }
            }

            if (!launched)
            {
                dispatcher.WakePass();
            }
        }

        /// <summary>Gives the slot back if the advice was not started (its transaction failed).</summary>
        public void Dispose()
        {
            bool wake;
            lock (dispatcher.gate)
            {
                if (!Settle() || !slotted)
                {
                    return;
                }

                dispatcher.Release(item.PartnerId);
                wake = dispatcher.PassMayBeWanted;
            }

            // The freed slot may be what a waiting advice needs.
            if (wake)
            {
                dispatcher.WakePass();
            }
        }

        // Under the lock: the reservation ends once, whichever comes first.
        private bool Settle()
        {
            if (done)
            {
                return false;
            }

            done = true;
            if (slotted)
            {
                dispatcher.reserved--;
            }
            else
            {
                dispatcher.promisedWaits--;
            }

            return true;
        }
    }

    private void WakePass() => signal.Wake();

    // Under the lock: whether a freed slot is worth a pass (something may wait for one).
    private bool PassMayBeWanted => full || backlog || behind.Count > 0 || waiting.Count > 0;

    // Under the lock: places left on the list, counting those promised to uncommitted advices.
    private int ListRoom => Math.Max(0, MaxWaiting - waiting.Count - promisedWaits);

    // Under the lock: takes a slot in all and one of the partner's, if both are free.
    private bool TryReserve(string partnerId)
    {
        if (!HasFreeSlot(partnerId))
        {
            return false;
        }

        reserved++;
        busyPartners[partnerId] = busyPartners.GetValueOrDefault(partnerId) + 1;
        partnerDeliveries[partnerId] = partnerDeliveries.GetValueOrDefault(partnerId) + 1;
        return true;
    }

    // Under the lock.
    private bool HasFreeSlot(string partnerId) =>
        deliveries.Count + reserved < settings.BatchSize && busyPartners.GetValueOrDefault(partnerId) < settings.PartnerConcurrency &&
        partnerDeliveries.GetValueOrDefault(partnerId) < PartnerDeliveries;

    // A partner's deliveries at most: its calls, and as many answers again being recorded, and never
    // every slot in all. One partner then holds at most half of them by default, however slowly its
    // answers are recorded.
    private int PartnerDeliveries => Math.Min(2 * settings.PartnerConcurrency, settings.BatchSize - 1);

    // Under the lock: a handed-off advice whose transaction has committed, its slot still counted.
    private bool LaunchLeased(OutboxMessage item)
    {
        // A second to spare: the call is bounded by PartnerTimeout, and the lease must outlast it.
        if (running && !stopping.IsCancellationRequested && item.LeaseUntil - time.GetUtcNow() > options.Value.PartnerTimeout + TimeSpan.FromSeconds(1))
        {
            Launch(item);
            return true;
        }

        Release(item.PartnerId);
        backlog = true;
        return false;
    }

    // Under the lock, with the partner's slot already counted. The delivery runs with the host's
    // stopping token: one cut short by shutdown is recorded as unknown and retried.
    private void Launch(OutboxMessage item)
    {
        if (deliveries.ContainsKey(item.Id))
        {
            // Already out from here (its lease ran out and a pass claimed it): never twice at once.
            Release(item.PartnerId);
            return;
        }

        var delivery = Task.Run(() => DeliverAsync(item, stopping), CancellationToken.None);
        deliveries.Add(item.Id, delivery);
        calling.Add(item.Id);
        _ = delivery.ContinueWith(_ => Finish(item), CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    // The partner has answered (or the call failed): its slot is free for the next advice, while
    // this one's result is still being recorded.
    private void EndCall(OutboxMessage item)
    {
        bool wake;
        lock (gate)
        {
            if (!EndCallLocked(item))
            {
                return;
            }

            wake = PassMayBeWanted;
        }

        // A slot is free: worth a pass only if something may be waiting for one.
        if (wake)
        {
            WakePass();
        }
    }

    private void Finish(OutboxMessage item)
    {
        bool wake;
        lock (gate)
        {
            deliveries.Remove(item.Id);
            // Its call may not have ended normally (the delivery threw): the call's slot is freed here then.
            EndCallLocked(item);
            Decrement(partnerDeliveries, item.PartnerId);
            wake = PassMayBeWanted;
        }

        // A slot is free: worth a pass only if something may be waiting for one.
        if (wake)
        {
            WakePass();
        }
    }

    // Under the lock: frees the partner's call slot, once per delivery; false when it was already freed.
    private bool EndCallLocked(OutboxMessage item)
    {
        if (!calling.Remove(item.Id))
        {
            return false;
        }

        Decrement(busyPartners, item.PartnerId);
        return true;
    }

    // Under the lock: a reserved delivery that never ran gives back its call slot and its place.
    private void Release(string partnerId)
    {
        Decrement(busyPartners, partnerId);
        Decrement(partnerDeliveries, partnerId);
    }

    private static void Decrement(Dictionary<string, int> counts, string partnerId)
    {
        if (--counts[partnerId] == 0)
        {
            counts.Remove(partnerId);
        }
    }

    // PostgreSQL: one statement; rows another dispatcher is claiming right now are skipped, not waited
    // for, and the picked rows are checked again (another instance may have tried one meanwhile).
    // Not cancelled at shutdown: the UPDATE could still commit on the server after the client gave up,
    // leaving rows leased and never sent until the lease runs out.
    private static async Task<List<OutboxMessage>> ClaimWithSkipLockedAsync(QrDbContext db, List<OutboxMessage> picked, string lease,
        DateTimeOffset now, DateTimeOffset leaseUntil)
    {
        var ids = picked.Select(o => o.Id).ToArray();
        return await db.Outbox.FromSqlInterpolated($"""
            UPDATE outbox SET lease_owner = {lease}, lease_until = {leaseUntil.UtcDateTime}, attempts = attempts + 1
            WHERE id IN (
                SELECT o.id FROM outbox o
                WHERE o.id = ANY ({ids}) AND o.state = 'Pending' AND o.next_attempt_at <= {now.UtcDateTime}
                  AND (o.lease_until IS NULL OR o.lease_until < {now.UtcDateTime})
                FOR UPDATE SKIP LOCKED)
            RETURNING *
            """).AsNoTracking().ToListAsync(CancellationToken.None);
    }

    // SQLite (one writer at a time): claim each with a conditional UPDATE, all in one write.
    private static Task<List<OutboxMessage>> ClaimOneByOneAsync(QrDbContext db, List<OutboxMessage> picked, string lease,
        DateTimeOffset now, DateTimeOffset leaseUntil, CancellationToken ct) =>
        db.WriteAsync(async () =>
        {
            var claimed = new List<OutboxMessage>();
            foreach (var item in picked)
            {
                // Written out, as the result's UPDATE is: an ExecuteUpdate is translated afresh every time.
                var won = await db.Database.ExecuteSqlInterpolatedAsync($"""
                    UPDATE outbox SET lease_owner = {lease}, lease_until = {leaseUntil.UtcDateTime}, attempts = attempts + 1
                    WHERE id = {item.Id} AND state = 'Pending' AND next_attempt_at <= {now.UtcDateTime}
                      AND (lease_until IS NULL OR lease_until < {now.UtcDateTime})
                    """, CancellationToken.None);
                if (won == 1)
                {
                    claimed.Add(item);
                }
            }

            // The rows now say so too (committed with this write).
            foreach (var item in claimed)
            {
                item.Attempts++;
                item.LeaseOwner = lease;
            }

            return claimed;
        }, ct);

    private async Task DeliverAsync(OutboxMessage item, CancellationToken ct)
    {
        // Under the request that handed the advice over, if it still runs in one; otherwise a trace of its own.
        using var span = QrTracing.Source.StartActivity("advice delivery");
        var outcome = await partners.SendAdviceAsync(item.PartnerId, item.Kind, item.MessageId, item.Body, ct);
        EndCall(item);
        var now = time.GetUtcNow();
        var error = Truncate(outcome.Failure ?? outcome.Error?.ErrorMessage);
        var state = outcome.Class switch
        {
            OutcomeClass.Successful => OutboxState.Delivered,
            OutcomeClass.Failed => OutboxState.Failed,
            _ => OutboxState.Pending,
        };
        var next = state == OutboxState.Pending ? now + Backoff(item.Attempts) : item.NextAttemptAt;
        if (span is { IsAllDataRequested: true })
        {
            span.SetTag("qr.partner", item.PartnerId);
            span.SetTag("qr.advice.kind", item.Kind.ToString());
            span.SetTag("qr.advice.attempt", item.Attempts);
            span.SetTag("qr.advice.state", state.ToString());
        }
        DateTimeOffset? completed = state == OutboxState.Pending ? null : now;
        try
        {
            await CompleteAsync(item, state, next, completed, outcome.Status, error);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Never let what the partner said keep the result from being recorded: record it without that.
            LogCompleteFailed(logger, e, item.MessageId);
            try
            {
                await CompleteAsync(item, state, next, completed, outcome.Status, null);
            }
            catch (Exception again) when (again is not OperationCanceledException)
            {
                // The lease runs out and the item is tried again; its attempt is already counted.
                LogCompleteFailed(logger, again, item.MessageId);
                return;
            }
        }

        if (state == OutboxState.Pending)
        {
            LogRetry(logger, item.Kind, item.MessageId, item.PartnerId, item.Attempts, next);
        }
        else
        {
            metrics.AdviceSettled(item.PartnerId, item.Kind, state, now - item.CreatedAt);
            LogDone(logger, item.Kind, item.MessageId, item.PartnerId, state);
        }
    }

    private async Task CompleteAsync(OutboxMessage item, OutboxState state, DateTimeOffset next, DateTimeOffset? completed, int? status, string? error)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<QrDbContext>();
        // One statement written out, as PostgreSQL's claim is: every delivery ends here, and EF would translate
        // an ExecuteUpdate's expression afresh each time (a few per cent of the service's CPU).
        await db.WriteAsync(() => db.Database.ExecuteSqlInterpolatedAsync($"""
            UPDATE outbox SET state = {state.ToString()}, next_attempt_at = {next.UtcDateTime}, last_status = {status},
                last_error = {error}, completed_at = {completed?.UtcDateTime}, lease_owner = NULL, lease_until = NULL
            WHERE id = {item.Id} AND lease_owner = {item.LeaseOwner}
            """, CancellationToken.None));
    }

    /// <summary>What a partner said, cut to fit last_error.</summary>
    public static string? Truncate(string? text) =>
        text is null || text.Length <= MaxErrorLength ? text : text[..Cut(text, MaxErrorLength - 1)] + "…";

    // Never split a surrogate pair: the database refuses half a character.
    private static int Cut(string text, int at) => char.IsHighSurrogate(text[at - 1]) ? at - 1 : at;

    /// <summary>Base × 2^(attempt-1), capped, with ±20% jitter so retries of many items spread out.</summary>
    public TimeSpan Backoff(int attempt)
    {
        var exponential = settings.RetryBaseDelay.TotalMilliseconds * Math.Pow(2, Math.Min(attempt - 1, 30));
        var capped = Math.Min(exponential, settings.RetryMaxDelay.TotalMilliseconds);
        return TimeSpan.FromMilliseconds(capped * (0.8 + Random.Shared.NextDouble() * 0.4));
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Outbox pass failed; retrying on the next pass")]
    private static partial void LogPassFailed(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Error, Message = "Could not record the delivery of {MessageId}")]
    private static partial void LogCompleteFailed(ILogger logger, Exception exception, string messageId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Kind} {MessageId} to {PartnerId}: outcome unknown (attempt {Attempts}); next try at {NextAttemptAt}")]
    private static partial void LogRetry(ILogger logger, AdviceKind kind, string messageId, string partnerId, int attempts, DateTimeOffset nextAttemptAt);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Kind} {MessageId} to {PartnerId}: {State}")]
    private static partial void LogDone(ILogger logger, AdviceKind kind, string messageId, string partnerId, OutboxState state);
}

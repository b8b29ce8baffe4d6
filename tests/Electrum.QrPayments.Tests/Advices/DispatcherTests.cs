using Electrum.QrPayments.Api.Advices;
using Electrum.QrPayments.Api.Web;
using Electrum.QrPayments.PartnerSimulator;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Electrum.QrPayments.Tests.Advices;

/// <summary>How the advice dispatcher shares its slots between partners.</summary>
public class DispatcherTests
{
    private const string FastPartner = "partner-2";
    private const string FastPartnerPassword = "partner-2-password";

    [Theory]
    [Databases]
    public async Task Dispatcher_OnePartnerHangs_OtherPartnersAdvicesAllArrive(Db db)
    {
        await using var slow = await Partner.StartAsync();
        await using var fast = await Partner.StartAsync(FastPartner, FastPartnerPassword);
        // The manual clock never reaches PartnerTimeout: the slow partner's calls hang for the whole test.
        var clock = new ManualTimeProvider();
        await using var service = TwoPartnerService(db, slow, fast, [], clock);
        var pos = service.Api();

        // More advices for the slow partner than there are slots in all, queued first.
        var slowCount = new OutboxOptions().BatchSize + 8;
        var slowPayments = await ApproveAsync(service, slow, slowCount);
        var fastPayments = await ApproveAsync(service, fast, 50);
        await slow.Control.SetAsync(new Behaviour { DelayMs = 120_000 }, SimulatorState.Confirm);
        foreach (var id in slowPayments.Concat(fastPayments))
        {
            Assert.Equal(HttpStatusCode.Accepted, (await pos.ConfirmPaymentAsync(Flow.ConfirmationOf(id))).Status);
        }

        await Flow.UntilAsync(() => Task.FromResult(fast.State.ReceivedMessages.Count(r => r.Operation == SimulatorState.Confirm) == 50),
            "the fast partner's 50 confirmations");

        var sentUpstream = fast.Received<PaymentRequest>(SimulatorState.Pay).Select(p => p.Id).ToHashSet();
        var confirmed = fast.Received<PaymentConfirmation>(SimulatorState.Confirm);
        Assert.Equal(50, confirmed.Select(c => c.RequestId).Distinct().Count());
        Assert.All(confirmed, c => Assert.Contains(c.RequestId, sentUpstream));
        // The slow partner holds only its own slots, and nothing of its was answered.
        var slowCalls = slow.State.ReceivedMessages.Count(r => r.Operation == SimulatorState.Confirm);
        Assert.InRange(slowCalls, 1, new OutboxOptions().PartnerConcurrency);
        var outbox = await service.WithDbAsync(d => Task.FromResult(d.Outbox.ToList()));
        Assert.Equal(slowCount, outbox.Count(o => o.PartnerId == QrService.Partner && o.State == OutboxState.Pending));
        await Flow.UntilAsync(async () => (await service.WithDbAsync(d => Task.FromResult(
                d.Outbox.Count(o => o.PartnerId == FastPartner && o.State == OutboxState.Delivered)))) == 50,
            "the fast partner's deliveries to be recorded");
        // Each went out once: none waited for a slow slot, timed out, and was sent again.
        Assert.All(await service.WithDbAsync(d => Task.FromResult(d.Outbox.Where(o => o.PartnerId == FastPartner).ToList())),
            o => Assert.Equal(1, o.Attempts));
    }

    [Theory]
    [Databases]
    public async Task Dispatcher_ResultCannotBeRecorded_AttemptCountedAndSentAgainAfterTheLease(Db db)
    {
        // Both tries to record the partner's answer fail: the item keeps its lease and its counted attempt.
        var hook = new OutboxCompletionHook { FailTimes = 2 };
        await using var flow = await Flow.StartAsync(db, interceptor: hook);
        var request = await flow.ApprovedPaymentAsync();
        Assert.Equal(HttpStatusCode.Accepted, (await flow.Pos.ConfirmPaymentAsync(Flow.ConfirmationOf(request.Id!))).Status);
        await Flow.UntilAsync(() => Task.FromResult(hook.Seen == 2), "both tries to record the result to fail");
        var stuck = (await flow.OutboxAsync()).Single();
        Assert.Equal((OutboxState.Pending, 1, (int?)null), (stuck.State, stuck.Attempts, stuck.LastStatus));
        Assert.NotNull(stuck.LeaseOwner);

        // Past the lease (PartnerTimeout + 5 s) it is claimed again, sent with the same id, and recorded.
        flow.Clock.Advance(Flow.PartnerTimeout + TimeSpan.FromSeconds(6));
        await Flow.UntilAsync(async () => (await flow.OutboxAsync()).Single().State == OutboxState.Delivered, "the advice to be delivered");

        var item = (await flow.OutboxAsync()).Single();
        Assert.Equal(2, item.Attempts);
        Assert.Null(item.LeaseOwner);
        var sent = flow.Partner.Received<PaymentConfirmation>(SimulatorState.Confirm);
        Assert.Equal(2, sent.Count);
        Assert.All(sent, c => Assert.Equal(item.MessageId, c.Id));
    }

    // PostgreSQL only: on SQLite a held write holds the one write gate, and nothing else could be claimed meanwhile.
    [PostgresFact]
    public async Task Dispatcher_LeaseRunsOutWhileResultIsRecorded_NotSentAgainMeanwhile()
    {
        var hook = new OutboxCompletionHook { HoldFirst = true };
        await using var flow = await Flow.StartAsync(Db.Postgres, interceptor: hook);
        var first = await flow.ApprovedPaymentAsync();
        var second = await flow.ApprovedPaymentAsync();
        await flow.Pos.ConfirmPaymentAsync(Flow.ConfirmationOf(first.Id!));
        await hook.Held.WaitAsync(TimeSpan.FromSeconds(15));

        // The first item's lease runs out while its result is still being written. A later advice
        // is delivered, so the dispatcher has made passes that could have claimed the first again.
        flow.Clock.Advance(Flow.PartnerTimeout + TimeSpan.FromSeconds(6));
        await flow.Pos.ConfirmPaymentAsync(Flow.ConfirmationOf(second.Id!));
        await Flow.UntilAsync(async () => (await flow.OutboxAsync()) is [_, { State: OutboxState.Delivered }], "the second advice to be delivered");
        Assert.Single(flow.Partner.Received<PaymentConfirmation>(SimulatorState.Confirm), c => c.TranId == first.TranId);

        hook.Release();
        await Flow.UntilAsync(async () => (await flow.OutboxAsync()).All(o => o.State == OutboxState.Delivered), "the first result to be recorded");
        Assert.Equal(1, (await flow.OutboxAsync()).First().Attempts);
        Assert.Single(flow.Partner.Received<PaymentConfirmation>(SimulatorState.Confirm), c => c.TranId == first.TranId);
    }

    // A partner's slot is for calling it: once it has answered, the next advice goes out while the
    // answer is still being recorded. The second advice comes while the first call is out, so it
    // waits on the list, and only the answer's wake-up can start it: the poll is 10 minutes away.
    // PostgreSQL only, as above: on SQLite the held write holds the gate.
    [PostgresFact]
    public async Task Dispatcher_ResultStillBeingRecorded_PartnersSlotAlreadyFree()
    {
        var hook = new OutboxCompletionHook { HoldFirst = true };
        await using var flow = await Flow.StartAsync(Db.Postgres, new Dictionary<string, string?>
        {
            ["QrPayments:Outbox:PartnerConcurrency"] = "1",
            ["QrPayments:Outbox:PollInterval"] = "00:10:00",
        }, interceptor: hook);
        using var releasing = hook.ReleasedAtEnd();
        var first = await flow.ApprovedPaymentAsync();
        var second = await flow.ApprovedPaymentAsync();
        await flow.Partner.Control.SetAsync(new Behaviour { DelayMs = 1_000 }, SimulatorState.Confirm);
        await flow.Pos.ConfirmPaymentAsync(Flow.ConfirmationOf(first.Id!));
        await flow.Pos.ConfirmPaymentAsync(Flow.ConfirmationOf(second.Id!));
        await hook.Held.WaitAsync(TimeSpan.FromSeconds(15));

        // The partner's one slot is not held by the first result's write: the second goes out and is recorded.
        await Flow.UntilAsync(async () => (await flow.OutboxAsync()) is [{ State: OutboxState.Pending }, { State: OutboxState.Delivered }],
            "the second advice to be delivered while the first result is held");

        hook.Release();
        await Flow.UntilAsync(async () => (await flow.OutboxAsync()).All(o => o.State == OutboxState.Delivered), "the first result to be recorded");
        Assert.All(await flow.OutboxAsync(), o => Assert.Equal(1, o.Attempts));
        Assert.Equal(2, flow.Partner.Received<PaymentConfirmation>(SimulatorState.Confirm).Count);
    }

    // Answers still being recorded count against their partner: one partner whose results the
    // database holds up takes at most twice its calls in slots, and another partner still gets one.
    // PostgreSQL only, as above: on SQLite a held write holds the gate.
    [PostgresFact]
    public async Task Dispatcher_OnePartnersAnswersNotRecorded_OtherPartnerStillGetsASlot()
    {
        await using var first = await Partner.StartAsync();
        await using var other = await Partner.StartAsync(FastPartner, FastPartnerPassword);
        var hook = new OutboxCompletionHook { HoldAll = true };
        await using var service = TwoPartnerService(Db.Postgres, first, other, new Dictionary<string, string?>
        {
            ["QrPayments:Outbox:PartnerConcurrency"] = "1",
            ["QrPayments:Outbox:BatchSize"] = "3",
            ["QrPayments:Outbox:PollInterval"] = "00:10:00",
        }, interceptor: hook);
        using var releasing = hook.ReleasedAtEnd();
        var pos = service.Api();
        var firstPayments = await ApproveAsync(service, first, 3);
        var otherPayment = Assert.Single(await ApproveAsync(service, other, 1));

        // One call at a time: the first partner's first two answers wait to be recorded; its third
        // advice would take the last slot in all, but two deliveries are all one call's partner may hold.
        foreach (var id in firstPayments)
        {
            Assert.Equal(HttpStatusCode.Accepted, (await pos.ConfirmPaymentAsync(Flow.ConfirmationOf(id))).Status);
        }

        await Flow.UntilAsync(() => Task.FromResult(hook.Seen == 2), "two answers of the first partner to be held");
        Assert.Equal(HttpStatusCode.Accepted, (await pos.ConfirmPaymentAsync(Flow.ConfirmationOf(otherPayment))).Status);
        await Flow.UntilAsync(() => Task.FromResult(other.State.ReceivedMessages.Count(r => r.Operation == SimulatorState.Confirm) == 1),
            "the other partner's confirmation");
        Assert.Equal(2, first.State.ReceivedMessages.Count(r => r.Operation == SimulatorState.Confirm));

        hook.Release();
        await Flow.UntilAsync(async () => (await service.WithDbAsync(d => Task.FromResult(d.Outbox.ToList()))).All(o => o.State == OutboxState.Delivered),
            "every advice to be recorded delivered", seconds: 60);
        Assert.Equal(3, first.State.ReceivedMessages.Count(r => r.Operation == SimulatorState.Confirm));
    }

    // An accepted advice is leased to this instance in its own transaction and goes out at once:
    // no search for due items and no claim stand between the confirmation and the partner.
    [Theory]
    [Databases]
    public async Task Confirm_SlotFree_LeasedInItsOwnTransactionAndSentWithoutAClaim(Db db)
    {
        var claims = new ClaimCounter();
        await using var flow = await Flow.StartAsync(db, interceptor: claims);
        var request = await flow.ApprovedPaymentAsync();
        await flow.Partner.Control.SetAsync(new Behaviour { DelayMs = 120_000 }, SimulatorState.Confirm);

        Assert.Equal(HttpStatusCode.Accepted, (await flow.Pos.ConfirmPaymentAsync(Flow.ConfirmationOf(request.Id!))).Status);
        await Flow.UntilAsync(() => Task.FromResult(flow.Partner.Received<PaymentConfirmation>(SimulatorState.Confirm).Count == 1),
            "the confirmation to reach the partner");

        var item = (await flow.OutboxAsync()).Single();
        Assert.Equal((OutboxState.Pending, 1), (item.State, item.Attempts));
        Assert.NotNull(item.LeaseOwner);
        Assert.Equal(0, claims.Claims);
    }

    // With every slot taken, an accepted advice waits on the accepting instance's list: a freed
    // slot has it claimed by id, with no search for due rows, and each goes out once.
    [Theory]
    [Databases]
    public async Task Confirm_NoSlotFree_ClaimedByIdAsSlotsFreeWithoutASearch(Db db)
    {
        var claims = new ClaimCounter();
        await using var flow = await Flow.StartAsync(db, new Dictionary<string, string?>
        {
            ["QrPayments:Outbox:PartnerConcurrency"] = "1",
            ["QrPayments:Outbox:PollInterval"] = "00:10:00",
        }, interceptor: claims);
        // The search every dispatcher starts with (what a crashed instance left), then none.
        await Flow.UntilAsync(() => Task.FromResult(claims.Searches > 0), "the dispatcher's first search");
        var searches = claims.Searches;
        var requests = await ConfirmAllAtOnceAsync(flow, 6, partnerDelayMs: 100);

        await Flow.UntilAsync(async () => (await flow.OutboxAsync()).Count(o => o.State == OutboxState.Delivered) == requests.Count,
            "every advice to be delivered", seconds: 60);
        Assert.All(await flow.OutboxAsync(), o => Assert.Equal(1, o.Attempts));
        Assert.Equal(requests.Count, flow.Partner.Received<PaymentConfirmation>(SimulatorState.Confirm).Count);
        // At least one leased on acceptance; the rest claimed by id as slots freed, never searched for.
        Assert.InRange(claims.Claims, 1, requests.Count - 1);
        Assert.Equal(searches, claims.Searches);
    }

    // Advices beyond a partner's slots go out as slots free up: a finished delivery wakes the next
    // pass. The poll interval here is longer than the test may take, so polling cannot hide a lost wake-up.
    [Theory]
    [Databases]
    public async Task Dispatcher_MoreAdvicesThanSlots_FinishedDeliveriesWakeThePasses(Db db)
    {
        await using var flow = await Flow.StartAsync(db, new Dictionary<string, string?> { ["QrPayments:Outbox:PollInterval"] = "00:10:00" });
        var requests = await ConfirmAllAtOnceAsync(flow, 3 * new OutboxOptions().PartnerConcurrency, partnerDelayMs: 200);

        await Flow.UntilAsync(async () => (await flow.OutboxAsync()).Count(o => o.State == OutboxState.Delivered) == requests.Count,
            "every advice to be delivered", seconds: 60);
        Assert.All(await flow.OutboxAsync(), o => Assert.Equal(1, o.Attempts));
    }

    // Rows due in the database (here failed advices an operator re-queues at once) beyond the
    // partner's one slot: what a search finds beyond the slot is listed, and each finished delivery
    // wakes a pass that claims the next. The 10-minute poll cannot stand in for a lost wake-up.
    [Theory]
    [Databases]
    public async Task Dispatcher_DueRowsBeyondSlots_AllSentAsSlotsFree(Db db)
    {
        await using var flow = await Flow.StartAsync(db, new Dictionary<string, string?>
        {
            ["QrPayments:Outbox:PartnerConcurrency"] = "1",
            ["QrPayments:Outbox:PollInterval"] = "00:10:00",
        });
        await flow.Partner.Control.SetAsync(new Behaviour { Action = SimAction.Decline, Status = 400, ErrorType = ErrorType.FormatError }, SimulatorState.Confirm);
        var requests = await ConfirmAllAtOnceAsync(flow, 4, partnerDelayMs: 0, keepBehaviour: true);
        await Flow.UntilAsync(async () => (await flow.OutboxAsync()).All(o => o.State == OutboxState.Failed), "the advices to fail", seconds: 60);
        await flow.Partner.Control.ResetAsync();
        await flow.Partner.Control.SetAsync(new Behaviour { DelayMs = 100 }, SimulatorState.Confirm);
        using var ops = flow.Service.CreateClient(QrService.Operator, QrService.OperatorPassword);

        var requeued = await Task.WhenAll((await flow.OutboxAsync()).Select(item => ops.PostAsync($"/ops/outbox/{item.Id}/requeue", null)));
        Assert.All(requeued, r => Assert.Equal(HttpStatusCode.Accepted, r.StatusCode));

        await Flow.UntilAsync(async () => (await flow.OutboxAsync()).Count(o => o.State == OutboxState.Delivered) == requests.Count,
            "every re-queued advice to be delivered", seconds: 60);
        Assert.All(await flow.OutboxAsync(), o => Assert.Equal(2, o.Attempts));
    }

    // Retries due at once beyond the partner's one slot: the search that finds them lists those it
    // has no slot for, and freed slots claim them by id. One search, not one per delivery.
    [Theory]
    [Databases]
    public async Task Dispatcher_RetriesDueBeyondSlots_OneSearchListsThemAll(Db db)
    {
        var claims = new ClaimCounter();
        await using var flow = await OneSlotFlowAsync(db, claims);
        await flow.Partner.Control.SetAsync(new Behaviour { Action = SimAction.Error }, SimulatorState.Confirm);
        var requests = await ConfirmAllAtOnceAsync(flow, 6, partnerDelayMs: 0, keepBehaviour: true);
        // Each tried once, its outcome unknown, its retry due once the (manual) clock moves.
        await Flow.UntilAsync(async () => (await flow.OutboxAsync()).All(o => o is { State: OutboxState.Pending, Attempts: 1, LeaseOwner: null }),
            "every first attempt to be recorded as unknown", seconds: 60);
        await flow.Partner.Control.ResetAsync();
        var searches = claims.Searches;

        flow.Clock.Advance(TimeSpan.FromMinutes(10));
        await Flow.UntilAsync(async () => (await flow.OutboxAsync()).Count(o => o.State == OutboxState.Delivered) == requests.Count,
            "every retry to be delivered", seconds: 60);

        Assert.All(await flow.OutboxAsync(), o => Assert.Equal(2, o.Attempts));
        Assert.Equal(2 * requests.Count, flow.Partner.Received<PaymentConfirmation>(SimulatorState.Confirm).Count);
        Assert.Equal(searches + 1, claims.Searches);
    }

    // A backlog larger than the list (a partner back after an outage): freed slots take listed rows
    // by id, and a pass searches again only once nothing listed can take a slot. Before, once the
    // list was full, every delivery cost a search.
    [Theory]
    [Databases]
    public async Task Dispatcher_BacklogBeyondTheList_NotSearchedPerDelivery(Db db)
    {
        const int backlog = 300;
        var claims = new ClaimCounter();
        await using var flow = await OneSlotFlowAsync(db, claims);
        await DeliverOneAsync(flow);
        await SeedBacklogAsync(flow, backlog);
        var searches = claims.Searches;

        flow.Clock.Advance(TimeSpan.FromMinutes(10));
        await Flow.UntilAsync(async () => (await flow.OutboxAsync()).All(o => o.State != OutboxState.Pending), "the backlog to be sent", seconds: 90);

        Assert.All(await flow.OutboxAsync(), o => Assert.Equal(1, o.Attempts));
        // About one search per 65 rows (one slot and 64 listed); one per row would be 300.
        Assert.InRange(claims.Searches - searches, 1, 10);
    }

    // A partner whose slot is taken keeps at most 64 rows listed however many searches run, so
    // its backlog leaves the list's other places to other partners.
    [Theory]
    [Databases]
    public async Task Dispatcher_BacklogOfABusyPartner_ListsAtMost64OfIt(Db db)
    {
        var claims = new ClaimCounter();
        await using var flow = await OneSlotFlowAsync(db, claims);
        await DeliverOneAsync(flow);
        // The manual clock never reaches PartnerTimeout: the one slot stays taken.
        await flow.Partner.Control.SetAsync(new Behaviour { DelayMs = 120_000 }, SimulatorState.Confirm);
        await SeedBacklogAsync(flow, 300);
        var dispatcher = flow.Service.Services.GetRequiredService<OutboxDispatcher>();

        for (var poll = 1; poll <= 5; poll++)
        {
            var searches = claims.Searches;
            // Past PollInterval (50 ms), far from PartnerTimeout.
            flow.Clock.Advance(TimeSpan.FromMilliseconds(100));
            await Flow.UntilAsync(() => Task.FromResult(claims.Searches > searches), $"search {poll}");
        }

        await Flow.UntilAsync(() => Task.FromResult(dispatcher.InFlight == 1), "the slot to be taken");
        Assert.Equal(64, dispatcher.ListedFor(QrService.Partner));
    }

    // A flow whose partner takes one advice at a time, with the dispatcher's searches and claims counted.
    private static Task<Flow> OneSlotFlowAsync(Db db, ClaimCounter claims) =>
        Flow.StartAsync(db, new Dictionary<string, string?> { ["QrPayments:Outbox:PartnerConcurrency"] = "1" }, interceptor: claims);

    // One advice confirmed and delivered: what SeedBacklogAsync copies.
    private static async Task DeliverOneAsync(Flow flow)
    {
        var request = await flow.ApprovedPaymentAsync();
        Assert.Equal(HttpStatusCode.Accepted, (await flow.Pos.ConfirmPaymentAsync(Flow.ConfirmationOf(request.Id!))).Status);
        await Flow.UntilAsync(async () => (await flow.OutboxAsync()).Single().State == OutboxState.Delivered, "the first advice to be delivered");
    }

    // Rows as an outage leaves them, copies of the flow's one delivered advice: pending and due,
    // one per payment; no search finds them before the (manual) clock moves.
    private static async Task SeedBacklogAsync(Flow flow, int count)
    {
        var template = (await flow.OutboxAsync()).Single();
        var due = flow.Clock.GetUtcNow();
        await flow.Service.WithDbAsync(d =>
        {
            d.Outbox.AddRange(Enumerable.Range(0, count).Select(_ => new OutboxMessage
            {
                PaymentId = Guid.NewGuid(),
                Kind = template.Kind,
                PartnerId = template.PartnerId,
                MessageId = Guid.NewGuid().ToString(),
                Body = template.Body,
                State = OutboxState.Pending,
                CreatedAt = template.CreatedAt,
                NextAttemptAt = due,
            }));
            return d.SaveChangesAsync();
        });
    }

    // Approves `count` payments, slows the partner's confirmations, then confirms them all at once.
    private static async Task<List<string>> ConfirmAllAtOnceAsync(Flow flow, int count, int partnerDelayMs, bool keepBehaviour = false)
    {
        var requests = new List<string>();
        for (var i = 0; i < count; i++)
        {
            requests.Add((await flow.ApprovedPaymentAsync()).Id!);
        }

        if (!keepBehaviour)
        {
            await flow.Partner.Control.SetAsync(new Behaviour { DelayMs = partnerDelayMs }, SimulatorState.Confirm);
        }

        var answers = await Task.WhenAll(requests.Select(id => flow.Pos.ConfirmPaymentAsync(Flow.ConfirmationOf(id))));
        Assert.All(answers, a => Assert.Equal(HttpStatusCode.Accepted, a.Status));
        return requests;
    }

    /// <summary>Counts the dispatcher's claims (UPDATEs of the outbox that set a lease) and its searches for due rows.</summary>
    private sealed class ClaimCounter : CommandTextCounter
    {
        private int claims;
        private int searches;

        public int Claims => Volatile.Read(ref claims);

        public int Searches => Volatile.Read(ref searches);

        protected override void Count(string sql)
        {
            var text = sql.TrimStart();
            if (text.StartsWith("UPDATE", StringComparison.OrdinalIgnoreCase) && text.Contains("outbox", StringComparison.Ordinal) &&
                text.Contains("SET \"lease_owner\"", StringComparison.Ordinal) | text.Contains("SET lease_owner", StringComparison.Ordinal))
            {
                Interlocked.Increment(ref claims);
            }

            if (text.StartsWith("SELECT DISTINCT", StringComparison.OrdinalIgnoreCase) && text.Contains("outbox", StringComparison.Ordinal))
            {
                Interlocked.Increment(ref searches);
            }
        }
    }

    // Another instance tried the advice between this one's search and its claim: the claim checks
    // the time again, so the advice waits for its new time instead of going out early. (The first
    // attempt goes out on acceptance with no search; the retry is what a pass searches for.)
    [Theory]
    [Databases]
    public async Task Dispatcher_AdviceRetriedElsewhereBetweenSearchAndClaim_NotClaimed(Db db)
    {
        Flow? flow = null;
        var deferral = new DueAdviceDeferral(() => flow!.Service.Database.Kind == Db.Postgres
            ? new Npgsql.NpgsqlConnection(flow.Service.Database.ConnectionString)
            : new Microsoft.Data.Sqlite.SqliteConnection(flow.Service.Database.ConnectionString));
        await using var started = flow = await Flow.StartAsync(db, interceptor: deferral);
        var request = await flow.ApprovedPaymentAsync();
        await flow.Partner.Control.SetAsync(new Behaviour { Action = SimAction.Error }, SimulatorState.Confirm);

        Assert.Equal(HttpStatusCode.Accepted, (await flow.Pos.ConfirmPaymentAsync(Flow.ConfirmationOf(request.Id!))).Status);
        // (A query that the deferral does not take for the dispatcher's search.)
        await Flow.UntilAsync(() => flow.Service.WithDbAsync(d => d.Outbox.AnyAsync(o => o.State == OutboxState.Pending && o.Attempts == 1 && o.LeaseOwner == null)),
            "the first attempt to be recorded as unknown");
        Assert.False(deferral.Deferred);
        flow.Clock.Advance(TimeSpan.FromMinutes(10));
        await Flow.UntilAsync(() => Task.FromResult(deferral.Deferred), "the search to find the advice");
        await Task.Delay(1000); // passes every 50 ms

        var item = (await flow.OutboxAsync()).Single();
        Assert.Equal((OutboxState.Pending, 1, (string?)null), (item.State, item.Attempts, item.LeaseOwner));
        Assert.Single(flow.Partner.Received<PaymentConfirmation>(SimulatorState.Confirm));
    }

    // One partner allowed every slot could stall all the others.
    [Theory]
    [InlineData("8", "8")]
    [InlineData("4", "0")]
    public async Task Startup_PartnerConcurrencyNotUnderBatchSize_Refuses(string batchSize, string partnerConcurrency)
    {
        await using var service = new QrService(TestDatabase.Create(Db.Sqlite), new Dictionary<string, string?>
        {
            ["QrPayments:Outbox:BatchSize"] = batchSize,
            ["QrPayments:Outbox:PartnerConcurrency"] = partnerConcurrency,
        });

        var error = Assert.ThrowsAny<Exception>(() => service.CreateClient().GetAsync("/health/live").GetAwaiter().GetResult());

        Assert.Contains("BatchSize > PartnerConcurrency", error.ToString(), StringComparison.Ordinal);
    }

    // A service whose partners are `first` (the default one) and `second` (FastPartner).
    private static QrService TwoPartnerService(Db db, Partner first, Partner second, Dictionary<string, string?> extra,
        TimeProvider? clock = null, Microsoft.EntityFrameworkCore.Diagnostics.IInterceptor? interceptor = null)
    {
        extra["QrPayments:Partners:1:Id"] = FastPartner;
        extra["QrPayments:Partners:1:Secret"] = TestSecrets.Hash(FastPartnerPassword);
        extra["QrPayments:Partners:1:BaseUrl"] = second.BaseUrl.ToString();
        extra["QrPayments:Partners:1:Username"] = QrService.PartnerUpstreamUser;
        extra["QrPayments:Partners:1:Password"] = QrService.PartnerUpstreamPassword;
        return new QrService(TestDatabase.Create(db), Flow.Settings(extra), first, clock) { Interceptor = interceptor };
    }

    // Payments approved by one partner (it scans them), each on its own code; returns the POS's ids.
    private static async Task<List<string>> ApproveAsync(QrService service, Partner partner, int count)
    {
        var pos = service.Api();
        var scanner = service.Api(partner.Options.PartnerId, partner.Options.ServicePassword);
        var ids = new List<string>();
        for (var i = 0; i < count; i++)
        {
            var code = await pos.CreateQrCodeAsync(Messages.CreateQrCode());
            var request = Flow.PaymentFor(code.Body!.TranId!);
            var paying = pos.PayAsync(request);
            await Flow.UntilAsync(async () => paying.IsCompleted ||
                (await scanner.NotifyScanAsync(SimulatorApp.Scan(partner.Options, request.TranId!, "tok"))).Status == HttpStatusCode.Accepted,
                "the scan to be accepted");
            Assert.Equal(HttpStatusCode.Created, (await paying).Status);
            ids.Add(request.Id!);
        }

        return ids;
    }
}

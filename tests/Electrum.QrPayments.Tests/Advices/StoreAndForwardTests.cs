using System.Net.Http.Headers;
using Electrum.QrPayments.Api.Advices;
using Electrum.QrPayments.Api.Ops;
using Electrum.QrPayments.Api.Payments;
using Electrum.QrPayments.PartnerSimulator;

namespace Electrum.QrPayments.Tests.Advices;

/// <summary>Store-and-forward under a partner outage, across two instances, and as operators see it.</summary>
public class StoreAndForwardTests
{
    [Theory]
    [Databases]
    public async Task PartnerOutage_AdvicesQueuedWhileDown_AllArriveInOrderWithStableIds(Db db)
    {
        await using var flow = await Flow.StartAsync(db);
        var approved = new List<PaymentRequest>();
        for (var i = 0; i < 6; i++)
        {
            var request = Flow.PaymentFor((await flow.CodeAsync()).TranId!);
            Assert.Equal(HttpStatusCode.Created, (await flow.PayAndScanAsync(request)).Status);
            approved.Add(request);
        }

        // The partner goes down: it takes the connection and drops it without answering.
        await flow.Partner.Control.SetAsync(new Behaviour { Action = SimAction.Drop });
        var unknown = Flow.PaymentFor((await flow.CodeAsync()).TranId!);
        Assert.Equal(HttpStatusCode.GatewayTimeout, (await flow.PayAndScanAsync(unknown)).Status);
        for (var i = 0; i < approved.Count; i++)
        {
            var answer = i % 2 == 0
                ? (Contracts.Client.QrResponse)await flow.Pos.ConfirmPaymentAsync(Flow.ConfirmationOf(approved[i].Id!))
                : await flow.Pos.ReversePaymentAsync(Flow.ReversalOf(approved[i].Id!, ReversalReason.Cancelled));
            Assert.Equal(HttpStatusCode.Accepted, answer.Status);
        }

        // Retries while down: move the clock on until every advice has been tried at least twice.
        await Flow.UntilAsync(async () =>
        {
            flow.Clock.Advance(TimeSpan.FromSeconds(20));
            var items = await flow.OutboxAsync();
            return items.Count == 7 && items.All(o => o.Attempts >= 2);
        }, "every advice to be retried while the partner is down");

        var whileDown = await flow.OutboxAsync();
        Assert.All(whileDown, o => Assert.Equal(OutboxState.Pending, o.State));

        await flow.Partner.Control.ResetAsync();
        await Flow.UntilAsync(async () =>
        {
            flow.Clock.Advance(TimeSpan.FromMinutes(1));
            return (await flow.OutboxAsync()).All(o => o.State == OutboxState.Delivered);
        }, "every advice to be delivered after the outage");

        var outbox = await flow.OutboxAsync();
        var log = flow.Partner.State.ReceivedMessages.ToList();
        var adviceIds = log.Where(r => r.Operation != SimulatorState.Pay).Select(r => r.Body.GetProperty("id").GetString()!).ToHashSet();
        Assert.Equal(outbox.Select(o => o.MessageId).ToHashSet(), adviceIds);
        foreach (var item in outbox)
        {
            var payment = JsonSerializer.Deserialize<PaymentConfirmation>(item.Body, QrJson.Options)!;
            var payIndex = log.FindIndex(r => r.Operation == SimulatorState.Pay && r.Body.GetProperty("id").GetString() == payment.RequestId);
            var adviceIndex = log.FindIndex(r => r.Operation != SimulatorState.Pay && r.Body.GetProperty("id").GetString() == item.MessageId);
            Assert.True(payIndex >= 0 && payIndex < adviceIndex, $"advice {item.MessageId} before its payment");
        }
    }

    [PostgresFact]
    public async Task TwoInstances_PayOnOneScanOnOther_AllCompleteAndNoAdviceSentTwice()
    {
        await using var partner = await Partner.StartAsync();
        var database = TestDatabase.Create(Db.Postgres);
        // Instance A's clock never moves: its held pays can only be released by B's NOTIFY. B keeps
        // the real clock: a scan that reaches it before A's pay is committed is found by B's watcher
        // (pays send no NOTIFY), and on a frozen clock that watcher would never look.
        await using var a = new QrService(database, Flow.Settings(), partner, new ManualTimeProvider());
        await using var b = new QrService(database, Flow.Settings(), partner, time: null, ownsDatabase: false);
        var posA = a.Api();
        var posB = b.Api();
        var partnerB = b.Api(QrService.Partner, QrService.PartnerPassword);

        var payments = await Task.WhenAll(Enumerable.Range(0, 10).Select(async i =>
        {
            var code = (await posA.CreateQrCodeAsync(Messages.CreateQrCode())).Body!;
            var request = Flow.PaymentFor(code.TranId!);
            var paying = posA.PayAsync(request);
            QrResponseStatus scanned;
            do
            {
                await Task.Delay(50);
                scanned = new((await partnerB.NotifyScanAsync(SimulatorApp.Scan(partner.Options, code.TranId!, $"tok-{i}")).WaitAsync(TimeSpan.FromSeconds(20))).Status);
            }
            while (scanned.Status == HttpStatusCode.BadRequest && !paying.IsCompleted);

            var paid = await paying.WaitAsync(TimeSpan.FromSeconds(20));
            Assert.Equal(HttpStatusCode.Created, paid.Status);
            return request;
        }));

        var advices = await Task.WhenAll(payments.Select((p, i) => i % 2 == 0
            ? posB.ConfirmPaymentAsync(Flow.ConfirmationOf(p.Id!)).ContinueWith(t => t.Result.Status, TaskScheduler.Default)
            : posA.ReversePaymentAsync(Flow.ReversalOf(p.Id!, ReversalReason.Cancelled)).ContinueWith(t => t.Result.Status, TaskScheduler.Default)));
        Assert.All(advices, s => Assert.Equal(HttpStatusCode.Accepted, s));

        await Flow.UntilAsync(() => Task.FromResult(partner.State.ReceivedMessages.Count(r => r.Operation != SimulatorState.Pay) >= 10),
            "ten advices at the partner");
        await Task.Delay(500);
        var received = partner.State.ReceivedMessages.Where(r => r.Operation != SimulatorState.Pay)
            .Select(r => r.Body.GetProperty("id").GetString()).ToList();
        Assert.Equal(10, received.Count);
        Assert.Equal(10, received.Distinct().Count());
        Assert.Equal(10, partner.State.ReceivedMessages.Count(r => r.Operation == SimulatorState.Pay));
    }

    [Theory]
    [Databases]
    public async Task Ops_FailedAdvice_ListedCountedAndRequeuedUntilDelivered(Db db)
    {
        await using var flow = await Flow.StartAsync(db);
        var request = Flow.PaymentFor((await flow.CodeAsync()).TranId!);
        await flow.PayAndScanAsync(request);
        await flow.Partner.Control.SetAsync(new Behaviour { Action = SimAction.Decline, Status = 400, ErrorType = ErrorType.FormatError }, SimulatorState.Confirm);
        await flow.Pos.ConfirmPaymentAsync(Flow.ConfirmationOf(request.Id!));
        await Flow.UntilAsync(async () => (await flow.OutboxAsync()).Single().State == OutboxState.Failed, "the advice to fail");
        using var ops = flow.Service.CreateClient(QrService.Operator, QrService.OperatorPassword);

        var failed = await ops.GetFromJsonAsync<List<OutboxItem>>("/ops/outbox?state=Failed", QrJson.Options);
        var stats = await ops.GetFromJsonAsync<OutboxStats>("/ops/outbox/stats", QrJson.Options);

        var item = Assert.Single(failed!);
        Assert.Equal(400, item.LastStatus);
        Assert.Equal(1, stats!.Failed);
        Assert.Equal(0, stats.Pending);

        await flow.Partner.Control.ResetAsync();
        var requeued = await ops.PostAsync($"/ops/outbox/{item.Id}/requeue", null);

        Assert.Equal(HttpStatusCode.Accepted, requeued.StatusCode);
        await Flow.UntilAsync(async () => (await flow.OutboxAsync()).Single().State == OutboxState.Delivered, "the requeued advice to arrive");
        Assert.Equal(item.MessageId, flow.Partner.Received<PaymentConfirmation>(SimulatorState.Confirm).Select(c => c.Id).Distinct().Single());
        Assert.Equal(HttpStatusCode.BadRequest, (await ops.PostAsync($"/ops/outbox/{item.Id}/requeue", null)).StatusCode);
    }

    [Fact]
    public async Task Ops_RetryingAdvice_ListedWithAttemptsAndOldestAge()
    {
        // Retries far enough apart that none is in flight when the clock jumps a minute below.
        await using var flow = await Flow.StartAsync(Db.Sqlite, new Dictionary<string, string?> { ["QrPayments:Outbox:RetryBaseDelay"] = "00:00:20" });
        var request = Flow.PaymentFor((await flow.CodeAsync()).TranId!);
        await flow.PayAndScanAsync(request);
        await flow.Partner.Control.SetAsync(new Behaviour { Action = SimAction.Error }, SimulatorState.Reverse);
        await flow.Pos.ReversePaymentAsync(Flow.ReversalOf(request.Id!));
        // Small steps: a jump past PartnerTimeout would time out a delivery in flight (no status recorded).
        await Flow.UntilAsync(async () =>
        {
            flow.Clock.Advance(TimeSpan.FromSeconds(2));
            var item = (await flow.OutboxAsync()).Single();
            // Not in flight: a delivery still out when the clock jumps below would time out.
            return item.Attempts >= 2 && item.LastStatus == 500 && item.LeaseOwner is null;
        }, "the advice to be retried");
        flow.Clock.Advance(TimeSpan.FromSeconds(60));

        using var ops = flow.Service.CreateClient(QrService.Operator, QrService.OperatorPassword);
        var retrying = await ops.GetFromJsonAsync<List<OutboxItem>>("/ops/outbox?state=Pending&minAttempts=2", QrJson.Options);
        var stats = await ops.GetFromJsonAsync<OutboxStats>("/ops/outbox/stats", QrJson.Options);

        Assert.True(Assert.Single(retrying!).Attempts >= 2);
        Assert.Equal(500, retrying![0].LastStatus);
        Assert.Equal(1, stats!.Retrying);
        Assert.True(stats.OldestPendingAgeSeconds >= 60);
    }

    [Theory]
    [InlineData("/ops/outbox?state=Delivered", "state")]
    [InlineData("/ops/outbox?limit=0", "limit")]
    [InlineData("/ops/outbox?minAttempts=-1", "minAttempts")]
    public Task Ops_BadQuery_400NamingTheParameter(string url, string field)
        => QrService.AssertOpsQueryRefusedAsync(url, field);

    [Fact]
    public async Task Ops_CalledByClientOrAnonymous_403And401_UnknownItem404()
    {
        await using var service = new QrService(TestDatabase.Create(Db.Sqlite));
        using var client = service.PosHttp();
        using var anonymous = service.CreateClient();
        using var ops = service.CreateClient(QrService.Operator, QrService.OperatorPassword);

        Assert.Equal(HttpStatusCode.Forbidden, (await client.GetAsync("/ops/outbox/stats")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/ops/outbox/stats")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await ops.PostAsync("/ops/outbox/987654/requeue", null)).StatusCode);
    }

    private readonly record struct QrResponseStatus(HttpStatusCode Status);
}

using Electrum.QrPayments.Api.Payments;
using Electrum.QrPayments.PartnerSimulator;
using Microsoft.Extensions.DependencyInjection;

namespace Electrum.QrPayments.Tests.Payments;

/// <summary>What held requests leave behind, and holds whose instance died.</summary>
public class HeldRequestTests
{
    private const int Lifecycles = 2_000;

    // PostgreSQL too: there scans and pays also signal through NOTIFY, which must leave nothing either.
    [Theory]
    [Databases]
    public async Task Signals_AfterThousandsOfLifecyclesOfEveryOutcome_NothingLeftBehind(Db db)
    {
        await using var flow = await Flow.StartAsync(db);
        var signals = flow.Service.Services.GetRequiredService<Signals>();
        var watcher = flow.Service.Services.GetRequiredService<HeldWatcher>();
        var next = -1;
        var outcomes = new System.Collections.Concurrent.ConcurrentDictionary<string, int>();

        await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(async () =>
        {
            for (var i = Interlocked.Increment(ref next); i < Lifecycles; i = Interlocked.Increment(ref next))
            {
                outcomes.AddOrUpdate(await LifecycleAsync(flow, i % 6), 1, (_, n) => n + 1);
            }
        })));

        // Holds that run out, and early scans whose payment never comes.
        var held = await Task.WhenAll(Enumerable.Range(0, 50).Select(async _ =>
            await flow.StartPayAsync(Flow.PaymentFor((await flow.CodeAsync()).TranId!))));
        var early = await Task.WhenAll(Enumerable.Range(0, 50).Select(async _ => (await flow.CodeAsync()).TranId!));
        var scans = early.Select(t => flow.ScanAsync(t)).ToList();
        var expired = await flow.AdvanceUntilAsync(Task.WhenAll(held), TimeSpan.FromSeconds(5));
        var unmatched = await flow.AdvanceUntilAsync(Task.WhenAll(scans), TimeSpan.FromSeconds(1));

        Assert.All(expired, p => Assert.Equal(ErrorType.NoScanReceived, p.Error!.ErrorType));
        Assert.All(unmatched, s => Assert.Equal(ErrorType.UnableToLocateRecord, s.Error!.ErrorType));
        Assert.Equal(Lifecycles, outcomes.Values.Sum());
        Assert.Equal(6, outcomes.Count);
        Assert.Equal(0, signals.Count);
        Assert.Equal(0, watcher.Count);
    }

    // The scan that releases a pay held on the same instance hands it the payment as committed:
    // the pay goes on to the partner without reading its payment back.
    [Theory]
    [Databases]
    public async Task Pay_ScanMatchedOnThisInstance_PaymentNotReadBack(Db db)
    {
        var reads = PaymentReads();
        await using var flow = await Flow.StartAsync(db, interceptor: reads);
        var request = Flow.PaymentFor((await flow.CodeAsync()).TranId!);

        Assert.Equal(HttpStatusCode.Created, (await flow.PayAndScanAsync(request)).Status);

        Assert.Equal(PaymentState.Approved, await flow.StateAsync(request.Id!));
        Assert.Equal((0, 0), (reads[0], reads[1]));
    }

    // Likewise the other way round: a pay held on the instance where its scan came early hands the
    // waiting scan its payment, and neither reads it back.
    [Theory]
    [Databases]
    public async Task Scan_EarlyAndItsPayHeldOnThisInstance_PaymentNotReadBack(Db db)
    {
        var reads = PaymentReads();
        await using var flow = await Flow.StartAsync(db, interceptor: reads);
        var watcher = flow.Service.Services.GetRequiredService<HeldWatcher>();
        var tranId = (await flow.CodeAsync()).TranId!;
        var scanning = flow.ScanAsync(tranId);
        await Flow.UntilAsync(() => Task.FromResult(watcher.Count == 1), "the scan to wait for its payment");

        var paid = await flow.Pos.PayAsync(Flow.PaymentFor(tranId));

        Assert.Equal(HttpStatusCode.Accepted, (await scanning).Status);
        Assert.Equal(HttpStatusCode.Created, paid.Status);
        Assert.Equal((0, 0), (reads[0], reads[1]));
    }

    // Reads of one payment by its id or by the tranId it holds: what a woken pay or a woken early
    // scan does when nothing is handed over.
    private static SqlPatternCounter PaymentReads() => new(
        @"^\s*SELECT\b.*FROM ""?payments""? AS ""?p""?\s+WHERE ""?p""?\.""?id""? = ",
        @"^\s*SELECT\b.*FROM ""?payments""? AS ""?p""?\s+WHERE ""?p""?\.""?active_tran_id""? = ");

    // One lifecycle ending one way; returns how it ended.
    private static async Task<string> LifecycleAsync(Flow flow, int kind)
    {
        var code = await flow.CodeAsync();
        var request = Flow.PaymentFor(code.TranId!);
        switch (kind)
        {
            case 0:
                Assert.Equal(HttpStatusCode.Created, (await flow.PayAndScanAsync(request)).Status);
                Assert.Equal(HttpStatusCode.Accepted, (await flow.Pos.ConfirmPaymentAsync(Flow.ConfirmationOf(request.Id!))).Status);
                return "confirmed";
            case 1:
                Assert.Equal(HttpStatusCode.Created, (await flow.PayAndScanAsync(request)).Status);
                Assert.Equal(HttpStatusCode.Accepted, (await flow.Pos.ReversePaymentAsync(Flow.ReversalOf(request.Id!, ReversalReason.Cancelled))).Status);
                return "reversed";
            case 2:
                await flow.Partner.Control.SetAsync(new Behaviour { Action = SimAction.Decline }, SimulatorState.Pay, code.TranId);
                Assert.Equal(HttpStatusCode.BadRequest, (await flow.PayAndScanAsync(request)).Status);
                return "declined";
            case 3:
                await flow.Partner.Control.SetAsync(new Behaviour { Action = SimAction.Error }, SimulatorState.Pay, code.TranId);
                Assert.Equal(HttpStatusCode.GatewayTimeout, (await flow.PayAndScanAsync(request)).Status);
                return "timed out";
            case 4:
                var paying = await flow.StartPayAsync(request);
                Assert.Equal(HttpStatusCode.Accepted, (await flow.Pos.ReversePaymentAsync(Flow.ReversalOf(request.Id!))).Status);
                Assert.Equal(HttpStatusCode.BadRequest, (await paying).Status);
                return "reversed while held";
            default:
                // The scan first: it waits for the payment, which then finds it.
                var scanning = flow.ScanAsync(code.TranId!);
                var paid = await flow.Pos.PayAsync(request);
                Assert.Equal(HttpStatusCode.Accepted, (await scanning).Status);
                Assert.Equal(HttpStatusCode.Created, paid.Status);
                return "scanned early";
        }
    }

    [Theory]
    [Databases]
    public async Task NotifyScan_HoldOverButNotEnded_400UnableToLocateRecordAndHoldEnded(Db db)
    {
        await using var flow = await Flow.StartAsync(db);
        var code = await flow.CodeAsync();
        var request = Flow.PaymentFor(code.TranId!);
        // A payment held by an instance that died: its hold is over, but nobody marked it.
        var now = flow.Clock.GetUtcNow();
        await flow.Service.WithDbAsync(async d =>
        {
            d.Payments.Add(Payment.Request(request.Id!, QrService.Client, code.TranId!, 10000, "710",
                JsonSerializer.Serialize(request, QrJson.Options), now - Flow.ScanWait - TimeSpan.FromSeconds(1), now - TimeSpan.FromSeconds(1)));
            return await d.SaveChangesAsync();
        });

        var scanned = await flow.ScanAsync(code.TranId!);

        Assert.Equal(HttpStatusCode.BadRequest, scanned.Status);
        Assert.Equal(ErrorType.UnableToLocateRecord, scanned.Error!.ErrorType);
        Assert.Equal(PaymentState.NoScan, await flow.StateAsync(request.Id!));
        Assert.Empty(flow.Partner.State.ReceivedMessages);
        // The code is free again: a new payment on it is held and completes.
        Assert.Equal(HttpStatusCode.Created, (await flow.PayAndScanAsync(Flow.PaymentFor(code.TranId!))).Status);
    }
}

using Electrum.QrPayments.Api.Advices;
using Electrum.QrPayments.Api.Payments;
using Electrum.QrPayments.Contracts.Client;
using Electrum.QrPayments.PartnerSimulator;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Electrum.QrPayments.Tests.Payments;

/// <summary>
/// A scan for a pay held on this instance, and an advice for a payment a pay here just approved,
/// start from the payment as committed here (KnownPayments), without reading it; a copy that is
/// stale (the payment moved elsewhere since) must never be written over the payment.
/// </summary>
public class KnownPaymentTests
{
    [Theory]
    [Databases]
    public async Task ScanAndConfirm_LifecycleOnOneInstance_PaymentNotReadBack(Db db)
    {
        var reads = new SqlPatternCounter(ScanFirstLook, AdviceFirstLook);
        await using var flow = await Flow.StartAsync(db, interceptor: reads);
        var request = Flow.PaymentFor((await flow.CodeAsync()).TranId!);
        var paying = await HeldHereAsync(flow, request);

        Assert.Equal(HttpStatusCode.Accepted, (await flow.ScanAsync(request.TranId!)).Status);
        Assert.Equal(HttpStatusCode.Created, (await paying).Status);
        var known = flow.Service.Services.GetRequiredService<KnownPayments>();
        Assert.False(known.TryGetHeld(request.TranId!, out _));
        var confirmation = Flow.ConfirmationOf(request.Id!);
        var confirmed = await flow.Pos.ConfirmPaymentAsync(confirmation);

        Assert.Equal(HttpStatusCode.Accepted, confirmed.Status);
        Assert.Equal((0, 0), (reads[0], reads[1]));
        Assert.False(known.TryTakeApproved(request.Id!, QrService.Client, out _));
        Assert.Equal(PaymentState.Confirmed, await flow.StateAsync(request.Id!));
        // The same confirmation again is answered from what was recorded, which takes a read.
        var again = await flow.Pos.ConfirmPaymentAsync(confirmation);
        Assert.Equal((HttpStatusCode.Accepted, confirmed.Body!.Id), (again.Status, again.Body!.Id));
        Assert.Equal(1, reads[1]);
    }

    // Reversed on another instance while held here: the scan's match from the held copy fails on the
    // version, and the scan is answered from the database as it is.
    [Theory]
    [Databases]
    public async Task Scan_HeldCopyStale_ReversedPaymentNotMatched(Db db)
    {
        var writes = new SqlPatternCounter(ScanInsert);
        await using var flow = await Flow.StartAsync(db, interceptor: writes);
        var request = Flow.PaymentFor((await flow.CodeAsync()).TranId!);
        var paying = await HeldHereAsync(flow, request);
        await MoveElsewhereAsync(flow, request.Id!, p => p.Reverse(flow.Clock.GetUtcNow()));
        var reversed = await flow.PaymentAsync(request.Id!);

        var scanning = flow.ScanAsync(request.TranId!);
        // The clock stays put until the scan waits for a pay: the pay hears of the reversal only
        // when its watcher looks, so the scan meets the held copy as it was.
        var watcher = flow.Service.Services.GetRequiredService<HeldWatcher>();
        await Flow.UntilAsync(() => Task.FromResult(scanning.IsCompleted || watcher.Count == 2), "the scan to wait for a pay");
        var scanned = await flow.AdvanceUntilAsync(scanning, TimeSpan.FromMilliseconds(250));

        Assert.Equal((HttpStatusCode.BadRequest, ErrorType.UnableToLocateRecord), (scanned.Status, scanned.Error!.ErrorType));
        // The match from the held copy was tried, and refused.
        Assert.Equal(1, writes[0]);
        var payment = await flow.PaymentAsync(request.Id!);
        Assert.Equal((PaymentState.Reversed, reversed.Version), (payment.State, payment.Version));
        Assert.Equal(0, await flow.Service.WithDbAsync(d => d.Scans.CountAsync(s => s.PaymentId == payment.Id)));
        var paid = await flow.AdvanceUntilAsync(paying, TimeSpan.FromMilliseconds(250));
        Assert.Equal(HttpStatusCode.BadRequest, paid.Status);
        Assert.Empty(flow.Partner.Received<PaymentRequest>(SimulatorState.Pay));
    }

    // A scan id used before is refused by its unique index on the fast path as the read would refuse
    // it, and the pay stays held for a scan of its own.
    [Theory]
    [Databases]
    public async Task Scan_IdUsedBeforeForHeldPay_400DuplicateRecordPayStillHeld(Db db)
    {
        var reads = new SqlPatternCounter(ScanFirstLook);
        await using var flow = await Flow.StartAsync(db, interceptor: reads);
        var first = Flow.PaymentFor((await flow.CodeAsync()).TranId!);
        var firstPaying = await HeldHereAsync(flow, first);
        var usedScan = SimulatorApp.Scan(flow.Partner.Options, first.TranId!, "tok");
        Assert.Equal(HttpStatusCode.Accepted, (await flow.PartnerApi.NotifyScanAsync(usedScan)).Status);
        Assert.Equal(HttpStatusCode.Created, (await firstPaying).Status);
        var second = Flow.PaymentFor((await flow.CodeAsync()).TranId!);
        var secondPaying = await HeldHereAsync(flow, second);

        var reused = await flow.PartnerApi.NotifyScanAsync(usedScan with { TranId = second.TranId });

        Assert.Equal((HttpStatusCode.BadRequest, ErrorType.DuplicateRecord), (reused.Status, reused.Error!.ErrorType));
        Assert.Equal(0, reads[0]);
        Assert.Equal(PaymentState.AwaitingScan, await flow.StateAsync(second.Id!));
        Assert.Equal(HttpStatusCode.Accepted, (await flow.ScanAsync(second.TranId!)).Status);
        Assert.Equal(HttpStatusCode.Created, (await secondPaying).Status);
    }

    // Reversed on another instance after its approval here: the confirmation from the remembered
    // copy fails on the version, and is answered from the database as it is.
    [Theory]
    [Databases]
    public async Task Confirm_ApprovedCopyStale_ReversedPaymentNotConfirmed(Db db)
    {
        var writes = new SqlPatternCounter(AdviceInsert);
        await using var flow = await Flow.StartAsync(db, interceptor: writes);
        var request = await flow.ApprovedPaymentAsync();
        await MoveElsewhereAsync(flow, request.Id!, p => p.Reverse(flow.Clock.GetUtcNow()));

        var confirmed = await flow.Pos.ConfirmPaymentAsync(Flow.ConfirmationOf(request.Id!));

        Assert.Equal(HttpStatusCode.BadRequest, confirmed.Status);
        Assert.Equal("Payment was reversed", confirmed.Error!.ErrorMessage);
        Assert.Equal(1, writes[0]);
        Assert.Equal(PaymentState.Reversed, await flow.StateAsync(request.Id!));
        Assert.DoesNotContain(await flow.OutboxAsync(), m => m.Kind == AdviceKind.Confirmation);
    }

    // An advice id already used for another message is refused by its key on the fast path, as the
    // read would refuse it, and the approved payment is left as it was.
    [Theory]
    [Databases]
    public async Task Confirm_AdviceIdUsedBeforeForApprovedHere_400DuplicateRecord(Db db)
    {
        var writes = new SqlPatternCounter(AdviceInsert);
        await using var flow = await Flow.StartAsync(db, interceptor: writes);
        var request = await flow.ApprovedPaymentAsync();
        var earlier = Flow.ReversalOf(Guid.NewGuid().ToString());
        Assert.Equal(HttpStatusCode.NotFound, (await flow.Pos.ReversePaymentAsync(earlier)).Status);
        var before = writes[0];

        var confirmed = await flow.Pos.ConfirmPaymentAsync(Flow.ConfirmationOf(request.Id!) with { Id = earlier.Id });

        Assert.Equal((HttpStatusCode.BadRequest, ErrorType.DuplicateRecord), (confirmed.Status, confirmed.Error!.ErrorType));
        // Tried from the remembered copy, refused on the advice's key.
        Assert.Equal(before + 1, writes[0]);
        Assert.Equal(PaymentState.Approved, await flow.StateAsync(request.Id!));
        Assert.Equal(HttpStatusCode.Accepted, (await flow.Pos.ConfirmPaymentAsync(Flow.ConfirmationOf(request.Id!))).Status);
    }

    // The code expired while its pay was held here, before the sweep ended the hold: the scan is
    // refused as the read refuses it.
    [Theory]
    [Databases]
    public async Task Scan_CodeExpiredWhileHeldHere_400InvalidTranId(Db db)
    {
        var reads = new SqlPatternCounter(ScanFirstLook);
        await using var flow = await Flow.StartAsync(db, new Dictionary<string, string?> { ["QrPayments:SweepInterval"] = "01:00:00" }, reads);
        var code = await flow.CodeAsync(new QrProperties { ExpiryDate = flow.Clock.GetUtcNow().AddSeconds(10) });
        var request = Flow.PaymentFor(code.TranId!);
        var paying = await HeldHereAsync(flow, request);
        flow.Clock.Advance(TimeSpan.FromSeconds(11));

        var scanned = await flow.ScanAsync(request.TranId!);

        Assert.Equal((HttpStatusCode.BadRequest, ErrorType.InvalidTranId), (scanned.Status, scanned.Error!.ErrorType));
        Assert.Equal(1, reads[0]);
        Assert.Equal(PaymentState.AwaitingScan, await flow.StateAsync(request.Id!));
        Assert.Equal(HttpStatusCode.BadRequest, (await flow.AdvanceUntilAsync(paying, TimeSpan.FromSeconds(1))).Status);
    }

    // A reversal after an approval here starts from the remembered copy too, and queues the partner's reversal.
    [Theory]
    [Databases]
    public async Task Reverse_PaymentApprovedHere_ReversedWithoutReadAndQueued(Db db)
    {
        var reads = new SqlPatternCounter(AdviceFirstLook);
        await using var flow = await Flow.StartAsync(db, interceptor: reads);
        var request = await flow.ApprovedPaymentAsync();

        var reversed = await flow.Pos.ReversePaymentAsync(Flow.ReversalOf(request.Id!, ReversalReason.Cancelled));

        Assert.Equal(HttpStatusCode.Accepted, reversed.Status);
        Assert.Equal(0, reads[0]);
        Assert.Equal(PaymentState.Reversed, await flow.StateAsync(request.Id!));
        var (sent, _) = await flow.SingleReversalOfSinglePaymentAsync();
        Assert.Equal(request.Amounts!.RequestAmount!.Amount, sent.Amounts!.RequestAmount!.Amount);
    }

    // Starts the pay and waits until this instance remembers it as held (not only until it is committed).
    private static async Task<Task<QrResponse<PaymentResponse>>> HeldHereAsync(Flow flow, PaymentRequest request)
    {
        var known = flow.Service.Services.GetRequiredService<KnownPayments>();
        var paying = await flow.StartPayAsync(request);
        await Flow.UntilAsync(() => Task.FromResult(paying.IsCompleted || known.TryGetHeld(request.TranId!, out _)), "the pay to be held here");
        return paying;
    }

    // What another instance would do: change the payment through its aggregate, with no signal here.
    private static Task MoveElsewhereAsync(Flow flow, string requestId, Action<Payment> change) =>
        flow.Service.WithDbAsync(async d =>
        {
            change(await d.Payments.SingleAsync(p => p.RequestId == requestId));
            return await d.SaveChangesAsync();
        });

    // The scan's read of code, scan id and holder; the advice's read of payment and earlier advice.
    private const string ScanFirstLook = @"^\s*SELECT\s.*\bscans\b";
    private const string AdviceFirstLook = @"^\s*SELECT\s.*\badvices\b";

    // A save that writes a scan or an advice (a command of several statements).
    private const string ScanInsert = @"INSERT INTO ""?scans""?";
    private const string AdviceInsert = @"INSERT INTO ""?advices""?";
}

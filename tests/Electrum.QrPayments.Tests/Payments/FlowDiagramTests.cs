using Electrum.QrPayments.Api.Advices;
using Electrum.QrPayments.Api.Payments;
using Electrum.QrPayments.PartnerSimulator;

namespace Electrum.QrPayments.Tests.Payments;

/// <summary>
/// One test per official sequence diagram (the interface's flows r1-r3, p1-p4, s1-s6), asserting
/// what the POS got and what the partner received, on SQLite and on PostgreSQL.
/// </summary>
public class FlowDiagramTests
{
    [Theory]
    [Databases]
    public async Task R1_RetailerPaymentFlow_PayScanConfirm_ApprovedAndConfirmationReachesPartner(Db db)
    {
        await using var flow = await Flow.StartAsync(db);
        var code = await flow.CodeAsync();
        var payment = Flow.PaymentFor(code.TranId!);

        var paid = await flow.PayAndScanAsync(payment);
        var confirmed = await flow.Pos.ConfirmPaymentAsync(Flow.ConfirmationOf(payment.Id!));

        Assert.Equal(HttpStatusCode.Created, paid.Status);
        Assert.Equal(payment.Id, paid.Body!.Id);
        Assert.Equal(QrService.Partner, paid.Body.Partner!.Id);
        Assert.Equal(10000, paid.Body.Amounts!.ApprovedAmount!.Amount);
        Assert.Equal(HttpStatusCode.Accepted, confirmed.Status);
        await flow.UntilReceivedAsync(SimulatorState.Confirm, 1);
        var sent = Assert.Single(flow.Partner.Received<PaymentRequest>(SimulatorState.Pay));
        var confirmation = Assert.Single(flow.Partner.Received<PaymentConfirmation>(SimulatorState.Confirm));
        Assert.Equal(sent.Id, confirmation.RequestId);
        Assert.Equal(PaymentState.Confirmed, await flow.StateAsync(payment.Id!));
    }

    [Theory]
    [Databases]
    public async Task R2_RetailerGetsQrCode_TranIdInPayloadAndPartnerNotInvolved(Db db)
    {
        await using var flow = await Flow.StartAsync(db);

        var code = await flow.CodeAsync();

        Assert.Contains(code.TranId!, code.QrCode, StringComparison.Ordinal);
        Assert.Empty(flow.Partner.State.ReceivedMessages);
    }

    [Theory]
    [Databases]
    public async Task R3_RetailerTimesOutWhilePartnerDecides_ReversalFollowsThePayment(Db db)
    {
        await using var flow = await Flow.StartAsync(db);
        var code = await flow.CodeAsync();
        var payment = Flow.PaymentFor(code.TranId!);
        await flow.Partner.Control.SetAsync(new Behaviour { DelayMs = 1500 }, SimulatorState.Pay);
        var paying = await flow.StartPayAsync(payment);
        await flow.ScanAsync(code.TranId!);
        await flow.UntilReceivedAsync(SimulatorState.Pay, 1);

        // The POS gave up waiting and reverses while the partner is still deciding.
        var reversed = await flow.Pos.ReversePaymentAsync(Flow.ReversalOf(payment.Id!, ReversalReason.Timeout));
        var paid = await paying;

        Assert.Equal(HttpStatusCode.Accepted, reversed.Status);
        Assert.Equal(HttpStatusCode.BadRequest, paid.Status);
        var (sent, reversal) = await flow.SingleReversalOfSinglePaymentAsync();
        Assert.Equal(ReversalReason.Timeout, reversal.ReversalReason);
        Assert.Equal(PaymentState.Reversed, await flow.StateAsync(payment.Id!));
    }

    [Theory]
    [Databases]
    public async Task P1_PartnerPaymentFlow_PartnerGetsOurIdsItsTokenAndItsIdentity(Db db)
    {
        await using var flow = await Flow.StartAsync(db);
        var code = await flow.CodeAsync();
        var payment = Flow.PaymentFor(code.TranId!);
        var paying = await flow.StartPayAsync(payment);

        var scanned = await flow.ScanAsync(code.TranId!, "tok-p1-777");
        var paid = await paying;

        Assert.Equal(HttpStatusCode.Accepted, scanned.Status);
        Assert.Equal(HttpStatusCode.Created, paid.Status);
        var sent = Assert.Single(flow.Partner.Received<PaymentRequest>(SimulatorState.Pay));
        Assert.NotEqual(payment.Id, sent.Id);
        Assert.True(Guid.TryParse(sent.Id, out _));
        Assert.Equal((await flow.PaymentAsync(payment.Id!)).UpstreamRequestId, sent.Id);
        Assert.Equal("tok-p1-777", sent.PartnerPaymentToken);
        Assert.Equal(QrService.Partner, sent.Partner!.Id);
        Assert.Equal(code.TranId, sent.TranId);
        Assert.Equal(payment.Amounts, sent.Amounts);
        Assert.Null(paid.Body!.PartnerPaymentToken);
    }

    [Theory]
    [Databases]
    public async Task P2_PartnerDoesNotAnswerInTime_PosGets504AndPartnerGetsTimeoutReversal(Db db)
    {
        await using var flow = await Flow.StartAsync(db);
        var code = await flow.CodeAsync();
        var payment = Flow.PaymentFor(code.TranId!);
        await flow.Partner.Control.SetAsync(new Behaviour { DelayMs = 60_000 }, SimulatorState.Pay);
        var paying = await flow.StartPayAsync(payment);
        await flow.ScanAsync(code.TranId!);
        await flow.UntilReceivedAsync(SimulatorState.Pay, 1);

        var paid = await flow.AdvanceUntilAsync(paying, TimeSpan.FromSeconds(5));

        Assert.Equal(HttpStatusCode.GatewayTimeout, paid.Status);
        Assert.Equal(ErrorType.UpstreamUnavailable, paid.Error!.ErrorType);
        var (sent, reversal) = await flow.SingleReversalOfSinglePaymentAsync();
        Assert.Equal(ReversalReason.Timeout, reversal.ReversalReason);
        Assert.NotEqual(sent.Id, reversal.Id);
        Assert.Equal(PaymentState.TimedOut, await flow.StateAsync(payment.Id!));
    }

    [Theory]
    [Databases]
    public async Task P3_PartnerScanNotification_Accepted202AndPaymentReleased(Db db)
    {
        await using var flow = await Flow.StartAsync(db);
        var code = await flow.CodeAsync();
        var payment = Flow.PaymentFor(code.TranId!);
        var paying = await flow.StartPayAsync(payment);

        var scanned = await flow.ScanAsync(code.TranId!);

        Assert.Equal(HttpStatusCode.Accepted, scanned.Status);
        Assert.Equal(HttpStatusCode.Created, (await paying).Status);
    }

    [Theory]
    [Databases]
    public async Task P4_ScanWithNoPaymentRequest_DeclinedWith400(Db db)
    {
        await using var flow = await Flow.StartAsync(db);
        var code = await flow.CodeAsync();

        var scanned = await flow.AdvanceUntilAsync(flow.ScanAsync(code.TranId!), TimeSpan.FromMilliseconds(500));

        Assert.Equal(HttpStatusCode.BadRequest, scanned.Status);
        Assert.Equal(ErrorType.UnableToLocateRecord, scanned.Error!.ErrorType);
        Assert.Empty(flow.Partner.State.ReceivedMessages);
    }

    [Theory]
    [Databases]
    public async Task S1_NoScanNotification_PosGets400NoScanReceivedAndPartnerNothing(Db db)
    {
        await using var flow = await Flow.StartAsync(db);
        var code = await flow.CodeAsync();
        var payment = Flow.PaymentFor(code.TranId!);
        var paying = await flow.StartPayAsync(payment);

        var paid = await flow.AdvanceUntilAsync(paying, TimeSpan.FromSeconds(5));

        Assert.Equal(HttpStatusCode.BadRequest, paid.Status);
        Assert.Equal(ErrorType.NoScanReceived, paid.Error!.ErrorType);
        Assert.Equal(payment.Id, paid.Error.Id);
        Assert.Equal(PaymentState.NoScan, await flow.StateAsync(payment.Id!));
        Assert.Empty(flow.Partner.State.ReceivedMessages);
    }

    [Theory]
    [Databases]
    public async Task S2_ScanAfterPaymentGaveUp_400UnableToLocateRecord(Db db)
    {
        await using var flow = await Flow.StartAsync(db);
        var code = await flow.CodeAsync();
        var payment = Flow.PaymentFor(code.TranId!);
        await flow.AdvanceUntilAsync(await flow.StartPayAsync(payment), TimeSpan.FromSeconds(5));

        var scanned = await flow.AdvanceUntilAsync(flow.ScanAsync(code.TranId!), TimeSpan.FromMilliseconds(500));

        Assert.Equal(HttpStatusCode.BadRequest, scanned.Status);
        Assert.Equal(ErrorType.UnableToLocateRecord, scanned.Error!.ErrorType);
        Assert.Equal(PaymentState.NoScan, await flow.StateAsync(payment.Id!));
        Assert.Empty(flow.Partner.State.ReceivedMessages);
    }

    [Theory]
    [Databases]
    public async Task S3_ScanBeforePaymentRequest_ScanWaitsAndPaymentCompletes(Db db)
    {
        await using var flow = await Flow.StartAsync(db);
        var code = await flow.CodeAsync();
        var payment = Flow.PaymentFor(code.TranId!);

        var scanning = flow.ScanAsync(code.TranId!);
        await Task.Delay(100);
        var paid = await flow.Pos.PayAsync(payment);

        Assert.Equal(HttpStatusCode.Accepted, (await scanning).Status);
        Assert.Equal(HttpStatusCode.Created, paid.Status);
        Assert.Single(flow.Partner.Received<PaymentRequest>(SimulatorState.Pay));
    }

    [Theory]
    [Databases]
    public async Task S4_PaymentNeverArrives_ScanDeclinedReversal404AndLatePaymentRefused(Db db)
    {
        await using var flow = await Flow.StartAsync(db);
        var code = await flow.CodeAsync();
        var payment = Flow.PaymentFor(code.TranId!);

        var scanned = await flow.AdvanceUntilAsync(flow.ScanAsync(code.TranId!), TimeSpan.FromMilliseconds(500));
        var reversed = await flow.Pos.ReversePaymentAsync(Flow.ReversalOf(payment.Id!));
        var late = await flow.Pos.PayAsync(payment);

        Assert.Equal(HttpStatusCode.BadRequest, scanned.Status);
        Assert.Equal(HttpStatusCode.NotFound, reversed.Status);
        Assert.Equal(ErrorType.UnableToLocateRecord, reversed.Error!.ErrorType);
        Assert.Equal(HttpStatusCode.BadRequest, late.Status);
        Assert.Equal(ErrorType.DuplicateRecord, late.Error!.ErrorType);
        Assert.Empty(flow.Partner.State.ReceivedMessages);
    }

    [Theory]
    [Databases]
    public async Task S5_ApprovedButPosTimedOut_PosReversesAndPartnerGetsReversal(Db db)
    {
        await using var flow = await Flow.StartAsync(db);
        var payment = await flow.ApprovedPaymentAsync();

        var reversed = await flow.Pos.ReversePaymentAsync(Flow.ReversalOf(payment.Id!, ReversalReason.Timeout));

        Assert.Equal(HttpStatusCode.Accepted, reversed.Status);
        var (_, reversal) = await flow.SingleReversalOfSinglePaymentAsync();
        Assert.Equal(ReversalReason.Timeout, reversal.ReversalReason);
        Assert.Equal(PaymentState.Reversed, await flow.StateAsync(payment.Id!));
        await Flow.UntilAsync(async () => (await flow.OutboxAsync()).All(o => o.State == OutboxState.Delivered), "the outbox to drain");
    }

    [Theory]
    [Databases]
    public async Task S6_ApprovedThenVoidedByRetailer_PartnerGetsCancelledReversal(Db db)
    {
        await using var flow = await Flow.StartAsync(db);
        var payment = await flow.ApprovedPaymentAsync();

        var reversed = await flow.Pos.ReversePaymentAsync(Flow.ReversalOf(payment.Id!, ReversalReason.Cancelled));

        Assert.Equal(HttpStatusCode.Accepted, reversed.Status);
        await flow.UntilReceivedAsync(SimulatorState.Reverse, 1);
        Assert.Equal(ReversalReason.Cancelled, Assert.Single(flow.Partner.Received<PaymentReversal>(SimulatorState.Reverse)).ReversalReason);
        Assert.DoesNotContain(flow.Partner.State.ReceivedMessages, r => r.Operation == SimulatorState.Confirm);
    }
}

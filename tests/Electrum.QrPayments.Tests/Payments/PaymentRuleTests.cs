using Electrum.QrPayments.Api.Advices;
using Electrum.QrPayments.Api.Payments;
using Electrum.QrPayments.PartnerSimulator;
using Microsoft.EntityFrameworkCore;

namespace Electrum.QrPayments.Tests.Payments;

/// <summary>The service's rules that no sequence diagram of the interface shows.</summary>
public class PaymentRuleTests
{
    [Theory]
    [Databases]
    public async Task Pay_ReusedId_400DuplicateRecordAndNothingForwarded(Db db)
    {
        await using var flow = await Flow.StartAsync(db);
        var code = await flow.CodeAsync(new QrProperties());
        var payment = Flow.PaymentFor(code.TranId!);
        Assert.Equal(HttpStatusCode.Created, (await flow.PayAndScanAsync(payment)).Status);

        var again = await flow.Pos.PayAsync(payment);

        Assert.Equal(ErrorType.DuplicateRecord, again.Error!.ErrorType);
        Assert.Single(flow.Partner.Received<PaymentRequest>(SimulatorState.Pay));
    }

    [Fact]
    public async Task Pay_UnknownTranId_400InvalidTranIdAtOnce()
    {
        await using var flow = await Flow.StartAsync(Db.Sqlite);

        var paid = await flow.Pos.PayAsync(Flow.PaymentFor(Guid.NewGuid().ToString("N")));

        Assert.Equal(HttpStatusCode.BadRequest, paid.Status);
        Assert.Equal(ErrorType.InvalidTranId, paid.Error!.ErrorType);
        Assert.Equal(0, await flow.Service.WithDbAsync(d => d.Payments.CountAsync()));
    }

    [Fact]
    public async Task Pay_CodeIssuedToAnotherClient_400InvalidTranId()
    {
        await using var flow = await Flow.StartAsync(Db.Sqlite);
        var foreign = await flow.CodeAsync(client: QrService.OtherClient);

        var paid = await flow.Pos.PayAsync(Flow.PaymentFor(foreign.TranId!));

        Assert.Equal(ErrorType.InvalidTranId, paid.Error!.ErrorType);
    }

    [Fact]
    public async Task Pay_ExpiredCode_400InvalidTranId()
    {
        await using var flow = await Flow.StartAsync(Db.Sqlite);
        var code = await flow.CodeAsync(new QrProperties { ExpiryDate = flow.Clock.GetUtcNow().AddMinutes(1) });
        flow.Clock.Advance(TimeSpan.FromMinutes(2));

        var paid = await flow.Pos.PayAsync(Flow.PaymentFor(code.TranId!));

        Assert.Equal(ErrorType.InvalidTranId, paid.Error!.ErrorType);
    }

    [Fact]
    public async Task NotifyScan_ExpiredCode_400InvalidTranId()
    {
        await using var flow = await Flow.StartAsync(Db.Sqlite);
        var code = await flow.CodeAsync(new QrProperties { ExpiryDate = flow.Clock.GetUtcNow().AddMinutes(1) });
        flow.Clock.Advance(TimeSpan.FromMinutes(2));

        var scanned = await flow.ScanAsync(code.TranId!);

        Assert.Equal(ErrorType.InvalidTranId, scanned.Error!.ErrorType);
    }

    [Theory]
    [InlineData(10001, false, false, ErrorType.InvalidAmount)]
    [InlineData(9999, false, false, ErrorType.InvalidAmount)]
    [InlineData(0, false, false, ErrorType.InvalidAmount)]
    [InlineData(10001, true, false, null)]
    [InlineData(9999, false, true, null)]
    [InlineData(10000, false, false, null)]
    public async Task Pay_AmountAgainstCodeValue_BoundsEnforced(long amount, bool over, bool part, ErrorType? expected)
    {
        await using var flow = await Flow.StartAsync(Db.Sqlite);
        var code = await flow.CodeAsync(new QrProperties
        {
            Value = new LedgerAmount { Amount = 10000, Currency = "710" },
            OverPaymentAllowed = over,
            PartPaymentAllowed = part,
        });
        var payment = Flow.PaymentFor(code.TranId!, amount);

        var paid = expected is null ? await flow.PayAndScanAsync(payment) : await flow.Pos.PayAsync(payment);

        Assert.Equal(expected, paid.Error?.ErrorType);
        Assert.Equal(expected is null ? HttpStatusCode.Created : HttpStatusCode.BadRequest, paid.Status);
    }

    [Fact]
    public async Task Pay_CurrencyOtherThanCodes_400InvalidAmount()
    {
        await using var flow = await Flow.StartAsync(Db.Sqlite);
        var code = await flow.CodeAsync();

        var paid = await flow.Pos.PayAsync(Flow.PaymentFor(code.TranId!, currency: "840"));

        Assert.Equal(ErrorType.InvalidAmount, paid.Error!.ErrorType);
        Assert.Equal("amounts.requestAmount.currency", paid.Error.DetailMessage!["field"]!.GetValue<string>());
    }

    [Theory]
    [Databases]
    public async Task Pay_SingleUseCodeAlreadyPaid_400InvalidTranId(Db db)
    {
        await using var flow = await Flow.StartAsync(db);
        var code = await flow.CodeAsync(new QrProperties { SingleUse = true });
        Assert.Equal(HttpStatusCode.Created, (await flow.PayAndScanAsync(Flow.PaymentFor(code.TranId!))).Status);

        var second = await flow.Pos.PayAsync(Flow.PaymentFor(code.TranId!));

        Assert.Equal(ErrorType.InvalidTranId, second.Error!.ErrorType);
    }

    [Theory]
    [Databases]
    public async Task Pay_ReusableCodeAfterFirstPayment_SecondPaymentServed(Db db)
    {
        await using var flow = await Flow.StartAsync(db);
        var code = await flow.CodeAsync(new QrProperties { SingleUse = false });
        Assert.Equal(HttpStatusCode.Created, (await flow.PayAndScanAsync(Flow.PaymentFor(code.TranId!))).Status);

        var second = await flow.PayAndScanAsync(Flow.PaymentFor(code.TranId!));

        Assert.Equal(HttpStatusCode.Created, second.Status);
        Assert.Equal(2, flow.Partner.Received<PaymentRequest>(SimulatorState.Pay).Count);
    }

    [Fact]
    public async Task Pay_SecondWhileFirstPending_400InvalidTranId()
    {
        await using var flow = await Flow.StartAsync(Db.Sqlite);
        var code = await flow.CodeAsync(new QrProperties());
        var first = await flow.StartPayAsync(Flow.PaymentFor(code.TranId!));

        var second = await flow.Pos.PayAsync(Flow.PaymentFor(code.TranId!));

        Assert.Equal(ErrorType.InvalidTranId, second.Error!.ErrorType);
        Assert.False(first.IsCompleted);
    }

    [Fact]
    public async Task Pay_SingleUseCodeAfterReversedPayment_CanBePaidAgain()
    {
        await using var flow = await Flow.StartAsync(Db.Sqlite);
        var code = await flow.CodeAsync(new QrProperties { SingleUse = true });
        var first = Flow.PaymentFor(code.TranId!);
        await flow.PayAndScanAsync(first);
        await flow.Pos.ReversePaymentAsync(Flow.ReversalOf(first.Id!, ReversalReason.Cancelled));

        var second = await flow.PayAndScanAsync(Flow.PaymentFor(code.TranId!));

        Assert.Equal(HttpStatusCode.Created, second.Status);
    }

    [Theory]
    [Databases]
    public async Task Pay_ReversalWhileHeld_EndsEarlyAndPartnerNeverAsked(Db db)
    {
        await using var flow = await Flow.StartAsync(db);
        var code = await flow.CodeAsync();
        var payment = Flow.PaymentFor(code.TranId!);
        var paying = await flow.StartPayAsync(payment);

        var reversed = await flow.Pos.ReversePaymentAsync(Flow.ReversalOf(payment.Id!, ReversalReason.Cancelled));
        var paid = await paying;

        Assert.Equal(HttpStatusCode.Accepted, reversed.Status);
        Assert.Equal(HttpStatusCode.BadRequest, paid.Status);
        Assert.Equal(PaymentState.Reversed, await flow.StateAsync(payment.Id!));
        Assert.Empty(flow.Partner.State.ReceivedMessages);
        Assert.Empty(await flow.OutboxAsync());
    }

    [Theory]
    [InlineData(400, ErrorType.InsufficientFunds)]
    [InlineData(400, ErrorType.DeclinedByIssuer)]
    [InlineData(503, ErrorType.UpstreamUnavailable)]
    public async Task Pay_PartnerDeclines_PosGetsPartnersStatusAndErrorTypeAndNoReversal(int status, ErrorType type)
    {
        await using var flow = await Flow.StartAsync(Db.Sqlite);
        var code = await flow.CodeAsync();
        await flow.Partner.Control.SetAsync(new Behaviour { Action = SimAction.Decline, Status = status, ErrorType = type }, SimulatorState.Pay);
        var payment = Flow.PaymentFor(code.TranId!);

        var paid = await flow.PayAndScanAsync(payment);

        Assert.Equal(status, (int)paid.Status);
        Assert.Equal(type, paid.Error!.ErrorType);
        Assert.Equal(payment.Id, paid.Error.Id);
        Assert.Equal(PaymentState.Declined, await flow.StateAsync(payment.Id!));
        Assert.Empty(await flow.OutboxAsync());
    }

    [Theory]
    [InlineData(SimAction.Error)]
    [InlineData(SimAction.Drop)]
    public async Task Pay_PartnerErrorOrDroppedConnection_504AndOneTimeoutReversal(SimAction action)
    {
        await using var flow = await Flow.StartAsync(Db.Sqlite);
        var code = await flow.CodeAsync();
        await flow.Partner.Control.SetAsync(new Behaviour { Action = action }, SimulatorState.Pay);
        var payment = Flow.PaymentFor(code.TranId!);

        var paid = await flow.PayAndScanAsync(payment);

        Assert.Equal(HttpStatusCode.GatewayTimeout, paid.Status);
        Assert.Equal(ErrorType.UpstreamUnavailable, paid.Error!.ErrorType);
        await flow.UntilReceivedAsync(SimulatorState.Reverse, 1);
        Assert.Equal(ReversalReason.Timeout, Assert.Single(flow.Partner.Received<PaymentReversal>(SimulatorState.Reverse)).ReversalReason);

        // The POS reverses too, as the interface tells it to: still one reversal upstream.
        Assert.Equal(HttpStatusCode.Accepted, (await flow.Pos.ReversePaymentAsync(Flow.ReversalOf(payment.Id!))).Status);
        Assert.Single(await flow.OutboxAsync());
    }

    [Fact]
    public async Task NotifyScan_ReusedId_400DuplicateRecord()
    {
        await using var flow = await Flow.StartAsync(Db.Sqlite);
        var code = await flow.CodeAsync(new QrProperties());
        var paying = await flow.StartPayAsync(Flow.PaymentFor(code.TranId!));
        var scan = SimulatorApp.Scan(flow.Partner.Options, code.TranId!, null);
        Assert.Equal(HttpStatusCode.Accepted, (await flow.PartnerApi.NotifyScanAsync(scan)).Status);
        await paying;

        var again = await flow.PartnerApi.NotifyScanAsync(scan);

        Assert.Equal(ErrorType.DuplicateRecord, again.Error!.ErrorType);
    }

    [Fact]
    public async Task NotifyScan_UnknownTranId_400InvalidTranId()
    {
        await using var flow = await Flow.StartAsync(Db.Sqlite);

        var scanned = await flow.ScanAsync(Guid.NewGuid().ToString("N"));

        Assert.Equal(ErrorType.InvalidTranId, scanned.Error!.ErrorType);
    }

    [Fact]
    public async Task NotifyScan_SecondScanOfMatchedPayment_400InvalidTranId()
    {
        await using var flow = await Flow.StartAsync(Db.Sqlite);
        var code = await flow.CodeAsync();
        await flow.Partner.Control.SetAsync(new Behaviour { DelayMs = 1000 }, SimulatorState.Pay);
        var paying = await flow.StartPayAsync(Flow.PaymentFor(code.TranId!));
        Assert.Equal(HttpStatusCode.Accepted, (await flow.ScanAsync(code.TranId!)).Status);

        var second = await flow.ScanAsync(code.TranId!);

        Assert.Equal(ErrorType.InvalidTranId, second.Error!.ErrorType);
        Assert.Equal(HttpStatusCode.Created, (await paying).Status);
    }

    [Fact]
    public async Task NotifyScan_PartnerIdNotTheUserName_403()
    {
        await using var flow = await Flow.StartAsync(Db.Sqlite);
        var code = await flow.CodeAsync();
        var scan = SimulatorApp.Scan(flow.Partner.Options, code.TranId!, null) with { Partner = new Institution { Id = "someone-else", Name = "x" } };

        var scanned = await flow.PartnerApi.NotifyScanAsync(scan);

        Assert.Equal(HttpStatusCode.Forbidden, scanned.Status);
    }

    [Fact]
    public async Task NotifyScan_PostedByAClient_403AndPayByPartner_403()
    {
        await using var flow = await Flow.StartAsync(Db.Sqlite);
        var code = await flow.CodeAsync();

        var scanned = await flow.Pos.NotifyScanAsync(SimulatorApp.Scan(flow.Partner.Options, code.TranId!, null));
        var paid = await flow.PartnerApi.PayAsync(Flow.PaymentFor(code.TranId!));

        Assert.Equal(HttpStatusCode.Forbidden, scanned.Status);
        Assert.Equal(HttpStatusCode.Forbidden, paid.Status);
    }

    [Fact]
    public async Task Pay_ClientIdNotTheUserName_403()
    {
        await using var flow = await Flow.StartAsync(Db.Sqlite);
        var code = await flow.CodeAsync();
        var payment = Flow.PaymentFor(code.TranId!) with { Client = new Institution { Id = QrService.OtherClient, Name = "x" } };

        var paid = await flow.Pos.PayAsync(payment);

        Assert.Equal(HttpStatusCode.Forbidden, paid.Status);
    }

    [Theory]
    [Databases]
    public async Task ConfirmPayment_UnknownRequestId_404(Db db)
    {
        await using var flow = await Flow.StartAsync(db);
        var confirmation = Flow.ConfirmationOf(Guid.NewGuid().ToString());

        var confirmed = await flow.Pos.ConfirmPaymentAsync(confirmation);

        Assert.Equal(HttpStatusCode.NotFound, confirmed.Status);
        Assert.Equal(ErrorType.UnableToLocateRecord, confirmed.Error!.ErrorType);
        Assert.Equal(confirmation.Id, confirmed.Error.Id);
        Assert.Equal(confirmation.RequestId, confirmed.Error.OriginalId);
    }

    [Fact]
    public async Task Advices_PaymentOfAnotherClient_404AsIfUnknown()
    {
        await using var flow = await Flow.StartAsync(Db.Sqlite);
        var payment = await flow.ApprovedPaymentAsync();
        var other = flow.Service.Api(QrService.OtherClient, QrService.OtherClientPassword);

        var confirmed = await other.ConfirmPaymentAsync(Flow.ConfirmationOf(payment.Id!));
        var reversed = await other.ReversePaymentAsync(Flow.ReversalOf(payment.Id!));

        Assert.Equal(HttpStatusCode.NotFound, confirmed.Status);
        Assert.Equal(HttpStatusCode.NotFound, reversed.Status);
        Assert.Equal(PaymentState.Approved, await flow.StateAsync(payment.Id!));
    }

    [Theory]
    [Databases]
    public async Task ConfirmPayment_IdenticalRetry_SameAnswerAndOneConfirmationUpstream(Db db)
    {
        await using var flow = await Flow.StartAsync(db);
        var payment = await flow.ApprovedPaymentAsync();
        var confirmation = Flow.ConfirmationOf(payment.Id!);

        var first = await flow.Pos.ConfirmPaymentAsync(confirmation);
        var retry = await flow.Pos.ConfirmPaymentAsync(confirmation);

        Assert.Equal(HttpStatusCode.Accepted, first.Status);
        Assert.Equal(HttpStatusCode.Accepted, retry.Status);
        Assert.Equal(Json(first.Body), Json(retry.Body));
        Assert.Equal(Json(confirmation), Json(retry.Body));
        await flow.UntilReceivedAsync(SimulatorState.Confirm, 1);
        Assert.Single(await flow.OutboxAsync());
    }

    [Fact]
    public async Task ConfirmPayment_SameIdDifferentBody_400DuplicateRecord()
    {
        await using var flow = await Flow.StartAsync(Db.Sqlite);
        var payment = await flow.ApprovedPaymentAsync();
        var confirmation = Flow.ConfirmationOf(payment.Id!);
        await flow.Pos.ConfirmPaymentAsync(confirmation);

        var changed = await flow.Pos.ConfirmPaymentAsync(confirmation with { Rrn = "different" });

        Assert.Equal(ErrorType.DuplicateRecord, changed.Error!.ErrorType);
    }

    [Fact]
    public async Task ConfirmPayment_AlreadyConfirmedNewAdvice_202AndNothingMoreSent()
    {
        await using var flow = await Flow.StartAsync(Db.Sqlite);
        var payment = await flow.ApprovedPaymentAsync();
        await flow.Pos.ConfirmPaymentAsync(Flow.ConfirmationOf(payment.Id!));

        var second = await flow.Pos.ConfirmPaymentAsync(Flow.ConfirmationOf(payment.Id!));

        Assert.Equal(HttpStatusCode.Accepted, second.Status);
        Assert.Single(await flow.OutboxAsync());
    }

    [Theory]
    [Databases]
    public async Task ConfirmPayment_AfterReversal_400AndStaysReversed(Db db)
    {
        await using var flow = await Flow.StartAsync(db);
        var payment = await flow.ApprovedPaymentAsync();
        await flow.Pos.ReversePaymentAsync(Flow.ReversalOf(payment.Id!, ReversalReason.Cancelled));

        var confirmed = await flow.Pos.ConfirmPaymentAsync(Flow.ConfirmationOf(payment.Id!));

        Assert.Equal(HttpStatusCode.BadRequest, confirmed.Status);
        Assert.Equal("Payment was reversed", confirmed.Error!.ErrorMessage);
        Assert.Equal(PaymentState.Reversed, await flow.StateAsync(payment.Id!));
    }

    [Theory]
    [Databases]
    public async Task ReversePayment_AfterConfirmation_400AccountAlreadySettled(Db db)
    {
        await using var flow = await Flow.StartAsync(db);
        var payment = await flow.ApprovedPaymentAsync();
        await flow.Pos.ConfirmPaymentAsync(Flow.ConfirmationOf(payment.Id!));

        var reversed = await flow.Pos.ReversePaymentAsync(Flow.ReversalOf(payment.Id!));

        Assert.Equal(HttpStatusCode.BadRequest, reversed.Status);
        Assert.Equal(ErrorType.AccountAlreadySettled, reversed.Error!.ErrorType);
        Assert.Equal(PaymentState.Confirmed, await flow.StateAsync(payment.Id!));
        Assert.DoesNotContain(await flow.OutboxAsync(), o => o.Kind == AdviceKind.Reversal);
    }

    [Fact]
    public async Task ConfirmPayment_WhilePending_400AndPaymentUnchanged()
    {
        await using var flow = await Flow.StartAsync(Db.Sqlite);
        var code = await flow.CodeAsync();
        var payment = Flow.PaymentFor(code.TranId!);
        await flow.StartPayAsync(payment);

        var confirmed = await flow.Pos.ConfirmPaymentAsync(Flow.ConfirmationOf(payment.Id!));

        Assert.Equal(HttpStatusCode.BadRequest, confirmed.Status);
        Assert.Equal(PaymentState.AwaitingScan, await flow.StateAsync(payment.Id!));
    }

    [Fact]
    public async Task ConfirmPayment_AfterNoScan_400NotApproved()
    {
        await using var flow = await Flow.StartAsync(Db.Sqlite);
        var code = await flow.CodeAsync();
        var payment = Flow.PaymentFor(code.TranId!);
        await flow.AdvanceUntilAsync(await flow.StartPayAsync(payment), TimeSpan.FromSeconds(5));

        var confirmed = await flow.Pos.ConfirmPaymentAsync(Flow.ConfirmationOf(payment.Id!));

        Assert.Equal("Payment was not approved", confirmed.Error!.ErrorMessage);
    }

    [Fact]
    public async Task ReversePayment_UnknownIdRetried_404BothTimesAndLatePaymentRefused()
    {
        await using var flow = await Flow.StartAsync(Db.Sqlite);
        var code = await flow.CodeAsync();
        var payment = Flow.PaymentFor(code.TranId!);
        var reversal = Flow.ReversalOf(payment.Id!);

        var first = await flow.Pos.ReversePaymentAsync(reversal);
        var retry = await flow.Pos.ReversePaymentAsync(reversal);
        var another = await flow.Pos.ReversePaymentAsync(Flow.ReversalOf(payment.Id!));
        var late = await flow.Pos.PayAsync(payment);

        Assert.Equal(HttpStatusCode.NotFound, first.Status);
        Assert.Equal(HttpStatusCode.NotFound, retry.Status);
        Assert.Equal(HttpStatusCode.NotFound, another.Status);
        Assert.Equal(ErrorType.DuplicateRecord, late.Error!.ErrorType);
    }

    [Fact]
    public async Task ReversePayment_IdenticalRetryOfAccepted_SameEchoOneReversalUpstream()
    {
        await using var flow = await Flow.StartAsync(Db.Sqlite);
        var payment = await flow.ApprovedPaymentAsync();
        var reversal = Flow.ReversalOf(payment.Id!, ReversalReason.Cancelled);

        var first = await flow.Pos.ReversePaymentAsync(reversal);
        var retry = await flow.Pos.ReversePaymentAsync(reversal);
        var changed = await flow.Pos.ReversePaymentAsync(reversal with { ReversalReason = ReversalReason.Timeout });

        Assert.Equal(HttpStatusCode.Accepted, retry.Status);
        Assert.Equal(Json(first.Body), Json(retry.Body));
        Assert.Equal(ErrorType.DuplicateRecord, changed.Error!.ErrorType);
        await flow.UntilReceivedAsync(SimulatorState.Reverse, 1);
        Assert.Single(await flow.OutboxAsync());
    }

    [Fact]
    public async Task ReversePayment_AfterDecline_202AndNothingSent()
    {
        await using var flow = await Flow.StartAsync(Db.Sqlite);
        var code = await flow.CodeAsync();
        await flow.Partner.Control.SetAsync(new Behaviour { Action = SimAction.Decline }, SimulatorState.Pay);
        var payment = Flow.PaymentFor(code.TranId!);
        await flow.PayAndScanAsync(payment);

        var reversed = await flow.Pos.ReversePaymentAsync(Flow.ReversalOf(payment.Id!));

        Assert.Equal(HttpStatusCode.Accepted, reversed.Status);
        Assert.Empty(await flow.OutboxAsync());
    }

    [Fact]
    public async Task Transitions_FullLifecycle_AuditTrailRecordsEveryStep()
    {
        await using var flow = await Flow.StartAsync(Db.Sqlite);
        var payment = await flow.ApprovedPaymentAsync();
        await flow.Pos.ConfirmPaymentAsync(Flow.ConfirmationOf(payment.Id!));
        var id = (await flow.PaymentAsync(payment.Id!)).Id;

        var trail = await flow.Service.WithDbAsync(d => d.PaymentTransitions.Where(t => t.PaymentId == id).OrderBy(t => t.Id).ToListAsync());

        Assert.Equal(
            [PaymentCause.PaymentRequested, PaymentCause.ScanMatched, PaymentCause.PartnerApproved, PaymentCause.ConfirmedByPos],
            trail.Select(t => t.Cause));
        Assert.Equal([PaymentState.AwaitingScan, PaymentState.Forwarded, PaymentState.Approved, PaymentState.Confirmed], trail.Select(t => t.To));
    }

    private static string Json<T>(T value) => JsonSerializer.Serialize(value, QrJson.Options);
}

using Electrum.QrPayments.Api.Advices;
using Electrum.QrPayments.Api.Payments;
using Electrum.QrPayments.PartnerSimulator;

namespace Electrum.QrPayments.Tests.Partners;

/// <summary>
/// Every row of the table that classifies what a partner answers, over real HTTP: what the POS
/// gets for its pay, whether a timeout reversal goes out, and what becomes of an advice.
/// </summary>
public class PartnerAnswerTests
{
    private const string ErrorBody = """{"id":"e1","errorType":"GENERAL_ERROR","errorMessage":"Partner said no"}""";

    public static TheoryData<int, string?> UnknownPayAnswers => new()
    {
        { 408, ErrorBody },
        { 429, ErrorBody },
        { 500, null },
        { 502, null },
        { 502, "<html>Bad Gateway</html>" },
        { 504, ErrorBody },
        { 505, null },
        { 520, ErrorBody },
        { 200, null },
        { 201, null },
        { 202, null },
        { 201, "not json" },
        { 201, "{}" },
        { 200, """{"id":"x"}""" },
        { 204, null },
        { 302, null },
        { 400, null },
        { 404, "<html>Not Found</html>" },
    };

    [Theory]
    [MemberData(nameof(UnknownPayAnswers))]
    public async Task Pay_PartnerAnswerOfUnknownOutcome_504AndOneTimeoutReversal(int status, string? body)
    {
        await using var flow = await Flow.StartAsync(Db.Sqlite);
        var code = await flow.CodeAsync();
        await flow.Partner.Control.SetAsync(new Behaviour { Action = SimAction.Respond, Status = status, Body = body }, SimulatorState.Pay);
        var payment = Flow.PaymentFor(code.TranId!);

        var paid = await flow.PayAndScanAsync(payment);

        Assert.Equal(HttpStatusCode.GatewayTimeout, paid.Status);
        Assert.Equal(ErrorType.UpstreamUnavailable, paid.Error!.ErrorType);
        Assert.Equal(PaymentState.TimedOut, await flow.StateAsync(payment.Id!));
        var (_, reversal) = await flow.SingleReversalOfSinglePaymentAsync();
        Assert.Equal(ReversalReason.Timeout, reversal.ReversalReason);
    }

    [Theory]
    [InlineData(501, null, ErrorType.DeclinedByPartner)]
    [InlineData(503, null, ErrorType.DeclinedByPartner)]
    [InlineData(503, ErrorBody, ErrorType.GeneralError)]
    [InlineData(400, ErrorBody, ErrorType.GeneralError)]
    [InlineData(422, ErrorBody, ErrorType.GeneralError)]
    public async Task Pay_PartnerAnswerOfDecline_PosGetsStatusAndNoReversal(int status, string? body, ErrorType expected) =>
        await AssertDeclineAsync(status, body, status, expected);

    // The interface counts a 404 as successful in some contexts: the POS gets 400 for the decline.
    [Fact]
    public Task Pay_PartnerDeclinesWith404_PosGets400WithThePartnersStatus() =>
        AssertDeclineAsync(404, ErrorBody, 400, ErrorType.GeneralError);

    private static async Task AssertDeclineAsync(int status, string? body, int toPos, ErrorType expected)
    {
        await using var flow = await Flow.StartAsync(Db.Sqlite);
        var code = await flow.CodeAsync();
        await flow.Partner.Control.SetAsync(new Behaviour { Action = SimAction.Respond, Status = status, Body = body }, SimulatorState.Pay);
        var payment = Flow.PaymentFor(code.TranId!);

        var paid = await flow.PayAndScanAsync(payment);

        Assert.Equal(toPos, (int)paid.Status);
        Assert.Equal(expected, paid.Error!.ErrorType);
        Assert.Equal(status, paid.Error.DetailMessage!["partnerStatus"]!.GetValue<int>());
        Assert.Equal(PaymentState.Declined, await flow.StateAsync(payment.Id!));
        Assert.Empty(await flow.OutboxAsync());
    }

    [Fact]
    public async Task Pay_PartnerDeclinesWithHugeDetail_PosGetsDeclineWithoutTheDetail()
    {
        await using var flow = await Flow.StartAsync(Db.Sqlite);
        var code = await flow.CodeAsync();
        var huge = $$$"""{"id":"e1","errorType":"INSUFFICIENT_FUNDS","errorMessage":"{{{new string('m', 5000)}}}","detailMessage":{"blob":"{{{new string('x', 1024 * 1024)}}}"}}""";
        await flow.Partner.Control.SetAsync(new Behaviour { Action = SimAction.Respond, Status = 400, Body = huge }, SimulatorState.Pay);
        var payment = Flow.PaymentFor(code.TranId!);

        var paid = await flow.PayAndScanAsync(payment);

        Assert.Equal(HttpStatusCode.BadRequest, paid.Status);
        Assert.Equal(ErrorType.InsufficientFunds, paid.Error!.ErrorType);
        Assert.True(paid.Error.ErrorMessage!.Length <= 40);
        Assert.Null(paid.Error.DetailMessage!["partnerDetail"]);
    }

    [Theory]
    [InlineData(200, null)]
    [InlineData(201, null)]
    [InlineData(202, "not json")]
    [InlineData(404, null)]
    public async Task Advice_PartnerAnswersDelivered_ItemEndsDelivered(int status, string? body)
    {
        await using var flow = await Flow.StartAsync(Db.Sqlite);
        var item = await ConfirmAgainstAsync(flow, new Behaviour { Action = SimAction.Respond, Status = status, Body = body });

        await Flow.UntilAsync(async () => (await flow.OutboxAsync()).Single().State == OutboxState.Delivered, "the advice to be delivered");
        Assert.Equal(1, (await flow.OutboxAsync()).Single().Attempts);
        Assert.Single(flow.Partner.Received<PaymentConfirmation>(SimulatorState.Confirm), c => c.Id == item.MessageId);
    }

    [Theory]
    [InlineData(400)]
    [InlineData(409)]
    [InlineData(422)]
    public async Task Advice_Partner4xxWithErrorDetail_ItemEndsFailedForOperators(int status)
    {
        await using var flow = await Flow.StartAsync(Db.Sqlite);
        await ConfirmAgainstAsync(flow, new Behaviour { Action = SimAction.Respond, Status = status, Body = ErrorBody });

        await Flow.UntilAsync(async () => (await flow.OutboxAsync()).Single().State == OutboxState.Failed, "the advice to fail");
        var item = (await flow.OutboxAsync()).Single();
        Assert.Equal(status, item.LastStatus);
        Assert.Equal("Partner said no", item.LastError);
    }

    // Not an answer the interface defines for an advice: it ends, for operators to look at and requeue.
    [Theory]
    [InlineData(203)]
    [InlineData(204)]
    [InlineData(206)]
    public async Task Advice_PartnerAnswersAnother2xx_ItemEndsFailedForOperators(int status)
    {
        await using var flow = await Flow.StartAsync(Db.Sqlite);
        await ConfirmAgainstAsync(flow, new Behaviour { Action = SimAction.Respond, Status = status });

        await Flow.UntilAsync(async () => (await flow.OutboxAsync()).Single().State == OutboxState.Failed, "the advice to fail");
        var item = (await flow.OutboxAsync()).Single();
        Assert.Equal((status, 1), (item.LastStatus, item.Attempts));
    }

    [Theory]
    [InlineData(503, null)]
    [InlineData(503, ErrorBody)]
    [InlineData(501, ErrorBody)]
    [InlineData(408, ErrorBody)]
    [InlineData(429, null)]
    [InlineData(500, ErrorBody)]
    [InlineData(502, null)]
    [InlineData(400, null)]
    [InlineData(400, "<html>Bad Request</html>")]
    public async Task Advice_PartnerAnswerOfUnknownOutcome_RetriedUntilDelivered(int status, string? body)
    {
        await using var flow = await Flow.StartAsync(Db.Sqlite);
        var item = await ConfirmAgainstAsync(flow, new Behaviour { Action = SimAction.Respond, Status = status, Body = body, Times = 2 });

        await Flow.UntilAsync(async () =>
        {
            flow.Clock.Advance(TimeSpan.FromSeconds(2));
            return (await flow.OutboxAsync()).Single().State == OutboxState.Delivered;
        }, "the advice to be retried until delivered");

        Assert.Equal(3, (await flow.OutboxAsync()).Single().Attempts);
        var received = flow.Partner.Received<PaymentConfirmation>(SimulatorState.Confirm);
        Assert.Equal(3, received.Count);
        Assert.All(received, c => Assert.Equal(item.MessageId, c.Id));
    }

    // A 5,000-character errorMessage and a 1 MB answer: stored cut to fit, counted, never resent.
    [Theory]
    [Databases]
    public async Task Advice_PartnerSendsOverlongErrorAndHugeBody_StoredTruncatedAndNeverRepeated(Db db)
    {
        await using var flow = await Flow.StartAsync(db);
        var longMessage = new string('m', 5000);
        var retried = $$"""{"id":"e1","errorType":"GENERAL_ERROR","errorMessage":"{{longMessage}}"}""";
        var refused = $$$"""{"id":"e2","errorType":"FORMAT_ERROR","errorMessage":"{{{longMessage}}}","detailMessage":{"blob":"{{{new string('x', 1024 * 1024)}}}"}}""";
        var request = await flow.ApprovedPaymentAsync();
        await flow.Partner.Control.SetAsync(new Behaviour { Action = SimAction.Respond, Status = 500, Body = retried, Times = 2 }, SimulatorState.Confirm);
        await flow.Partner.Control.SetAsync(new Behaviour { Action = SimAction.Respond, Status = 400, Body = refused });
        Assert.Equal(HttpStatusCode.Accepted, (await flow.Pos.ConfirmPaymentAsync(Flow.ConfirmationOf(request.Id!))).Status);

        await Flow.UntilAsync(async () =>
        {
            var item = (await flow.OutboxAsync()).Single();
            // Time moves on only between attempts: a call still reading the partner's megabyte on a
            // busy machine must not run into PartnerTimeout on the test's clock and count twice.
            if (item.LeaseOwner is null)
            {
                flow.Clock.Advance(TimeSpan.FromSeconds(2));
            }

            return item.State == OutboxState.Failed;
        }, "the advice to end as failed");
        // Past several lease periods: a lost completion would show as another delivery.
        for (var i = 0; i < 5; i++)
        {
            flow.Clock.Advance(TimeSpan.FromMinutes(1));
            await Task.Delay(100);
        }

        var item = (await flow.OutboxAsync()).Single();
        Assert.Equal(OutboxState.Failed, item.State);
        Assert.Equal(3, item.Attempts);
        Assert.Equal(400, item.LastStatus);
        Assert.Equal(OutboxDispatcher.MaxErrorLength, item.LastError!.Length);
        Assert.StartsWith("mmmm", item.LastError, StringComparison.Ordinal);
        Assert.Equal(3, flow.Partner.Received<PaymentConfirmation>(SimulatorState.Confirm).Count);
    }

    // Over the 4 MiB read limit the body is left unread and the status decides: a 202 delivers the advice once.
    [Fact]
    public async Task Advice_Partner202WithBodyOverTheReadLimit_DeliveredOnce()
    {
        await using var flow = await Flow.StartAsync(Db.Sqlite);
        var huge = $$"""{"blob":"{{new string('x', 5 * 1024 * 1024)}}"}""";
        await ConfirmAgainstAsync(flow, new Behaviour { Action = SimAction.Respond, Status = 202, Body = huge });

        await Flow.UntilAsync(async () => (await flow.OutboxAsync()).Single().State == OutboxState.Delivered, "the advice to be delivered");
        flow.Clock.Advance(TimeSpan.FromMinutes(2));
        await Task.Delay(200);

        var item = (await flow.OutboxAsync()).Single();
        Assert.Equal((OutboxState.Delivered, 1, (int?)202), (item.State, item.Attempts, item.LastStatus));
        Assert.Single(flow.Partner.Received<PaymentConfirmation>(SimulatorState.Confirm));
    }

    [Fact]
    public async Task Pay_Partner201WithBodyOverTheReadLimit_504AndOneTimeoutReversal()
    {
        await using var flow = await Flow.StartAsync(Db.Sqlite);
        var code = await flow.CodeAsync();
        var huge = $$"""{"blob":"{{new string('x', 5 * 1024 * 1024)}}"}""";
        await flow.Partner.Control.SetAsync(new Behaviour { Action = SimAction.Respond, Status = 201, Body = huge }, SimulatorState.Pay);
        var payment = Flow.PaymentFor(code.TranId!);

        var paid = await flow.PayAndScanAsync(payment);

        Assert.Equal(HttpStatusCode.GatewayTimeout, paid.Status);
        Assert.Equal(PaymentState.TimedOut, await flow.StateAsync(payment.Id!));
        await flow.SingleReversalOfSinglePaymentAsync();
    }

    private static async Task<OutboxMessage> ConfirmAgainstAsync(Flow flow, Behaviour behaviour)
    {
        var request = await flow.ApprovedPaymentAsync();
        await flow.Partner.Control.SetAsync(behaviour, SimulatorState.Confirm);
        Assert.Equal(HttpStatusCode.Accepted, (await flow.Pos.ConfirmPaymentAsync(Flow.ConfirmationOf(request.Id!))).Status);
        return (await flow.OutboxAsync()).Single();
    }
}

using Electrum.QrPayments.Api.Ops;
using Electrum.QrPayments.PartnerSimulator;

namespace Electrum.QrPayments.Tests.Ops;

public class PaymentLookupTests
{
    private const string Token = "tok-secret-123";

    [Theory]
    [Databases]
    public async Task ListPayments_EachFilterAndTheirAnd_OnlyMatchingNewestFirst(Db db)
    {
        await using var flow = await Flow.StartAsync(db);
        var confirmed = await flow.ApprovedPaymentAsync();
        Assert.Equal(HttpStatusCode.Accepted, (await flow.Pos.ConfirmPaymentAsync(Flow.ConfirmationOf(confirmed.Id!))).Status);
        flow.Clock.Advance(TimeSpan.FromMinutes(1));
        var windowStart = flow.Clock.GetUtcNow();
        var reversed = await flow.ApprovedPaymentAsync();
        Assert.Equal(HttpStatusCode.Accepted, (await flow.Pos.ReversePaymentAsync(Flow.ReversalOf(reversed.Id!, ReversalReason.Cancelled))).Status);
        flow.Clock.Advance(TimeSpan.FromMinutes(1));
        await flow.Partner.Control.SetAsync(new Behaviour { Action = SimAction.Decline, Status = 400, ErrorType = ErrorType.DeclinedByIssuer }, SimulatorState.Pay);
        var declined = Flow.PaymentFor((await flow.CodeAsync()).TranId!);
        Assert.Equal(HttpStatusCode.BadRequest, (await flow.PayAndScanAsync(declined)).Status);
        await flow.Partner.Control.ResetAsync();
        var windowEnd = flow.Clock.GetUtcNow().AddSeconds(1);
        flow.Clock.Advance(TimeSpan.FromMinutes(1));
        // A tombstone: a reversal for a payment never seen (404, remembered), from the other client; no partner.
        var tombstone = Flow.ReversalOf(Guid.NewGuid().ToString());
        Assert.Equal(HttpStatusCode.NotFound, (await flow.Service.Api(QrService.OtherClient, QrService.OtherClientPassword).ReversePaymentAsync(tombstone)).Status);
        using var ops = flow.Service.CreateClient(QrService.Operator, QrService.OperatorPassword);

        async Task<List<string>> Ids(string query) =>
            [.. (await ops.GetFromJsonAsync<PaymentPage>("/ops/payments" + query, QrJson.Options))!.Items.Select(p => p.RequestId)];

        Assert.Equal([tombstone.RequestId!, declined.Id!, reversed.Id!, confirmed.Id!], await Ids(""));
        Assert.Equal([reversed.Id!], await Ids($"?requestId={reversed.Id}"));
        Assert.Equal([declined.Id!], await Ids($"?tranId={declined.TranId}"));
        Assert.Equal([tombstone.RequestId!], await Ids($"?clientId={QrService.OtherClient}"));
        Assert.Equal([declined.Id!, reversed.Id!, confirmed.Id!], await Ids($"?partnerId={QrService.Partner}"));
        Assert.Equal([declined.Id!], await Ids("?state=Declined"));
        Assert.Equal([tombstone.RequestId!, reversed.Id!], await Ids("?state=reversed"));
        Assert.Equal([declined.Id!, reversed.Id!], await Ids($"?from={Rfc3339(windowStart)}&to={Rfc3339(windowEnd)}"));
        Assert.Equal([reversed.Id!], await Ids($"?from={Rfc3339(windowStart)}&to={Rfc3339(windowEnd)}&state=Reversed&clientId={QrService.Client}"));
        Assert.Empty(await Ids($"?requestId={confirmed.Id}&state=Reversed"));
        var all = await ops.GetFromJsonAsync<PaymentPage>("/ops/payments", QrJson.Options);
        var listedConfirmed = all!.Items.Single(p => p.RequestId == confirmed.Id);
        Assert.Equal(("Confirmed", 10000L, "710", confirmed.TranId, QrService.Partner), (listedConfirmed.State, listedConfirmed.Amount, listedConfirmed.Currency, listedConfirmed.TranId, listedConfirmed.PartnerId));
        Assert.Null(all.Next);
    }

    [Theory]
    [Databases]
    public async Task ListPayments_PagedByCursor_EveryPaymentOnceInOrderWithTiesBrokenByRequestId(Db db)
    {
        await using var flow = await Flow.StartAsync(db);
        var made = new List<(DateTimeOffset At, string RequestId)>();
        for (var i = 0; i < 7; i++)
        {
            // Two and three at the same instant: the cursor must not skip or repeat within a tie.
            if (i is 2 or 5)
            {
                flow.Clock.Advance(TimeSpan.FromSeconds(1));
            }

            // Cheap payments: a reversal that overtakes its payment is answered 404 and remembered as one.
            var reversal = Flow.ReversalOf(Guid.NewGuid().ToString());
            Assert.Equal(HttpStatusCode.NotFound, (await flow.Pos.ReversePaymentAsync(reversal)).Status);
            made.Add((flow.Clock.GetUtcNow(), reversal.RequestId!));
        }

        using var ops = flow.Service.CreateClient(QrService.Operator, QrService.OperatorPassword);
        var seen = new List<string>();
        var pages = 0;
        string? next = null;
        do
        {
            var page = await ops.GetFromJsonAsync<PaymentPage>("/ops/payments?limit=3" + (next is null ? "" : "&after=" + next), QrJson.Options);
            Assert.True(page!.Items.Count <= 3);
            seen.AddRange(page.Items.Select(p => p.RequestId));
            next = page.Next;
            pages++;
        }
        while (next is not null);

        var expected = made.OrderByDescending(m => m.At).ThenByDescending(m => m.RequestId, StringComparer.Ordinal).Select(m => m.RequestId).ToList();
        Assert.Equal(expected, seen);
        Assert.Equal(3, pages);
        // With filters too: the cursor continues the filtered list.
        var filtered = new List<string>();
        next = null;
        do
        {
            var page = await ops.GetFromJsonAsync<PaymentPage>($"/ops/payments?limit=2&state=Reversed&clientId={QrService.Client}" + (next is null ? "" : "&after=" + next), QrJson.Options);
            filtered.AddRange(page!.Items.Select(p => p.RequestId));
            next = page.Next;
        }
        while (next is not null);

        Assert.Equal(expected, filtered);
    }

    [Theory]
    [InlineData("?state=Paid", "state")]
    [InlineData("?state=3", "state")]
    [InlineData("?state=Forwarded,Approved", "state")]
    [InlineData("?state=%20Confirmed", "state")]
    [InlineData("?requestId=%00", "requestId")]
    [InlineData("?tranId=a%0Ab", "tranId")]
    [InlineData("?after=MTIzNHx4AA", "after")]
    [InlineData("?from=2026-12-01", "from")]
    [InlineData("?to=yesterday", "to")]
    [InlineData("?from=2026-12-01T10:00:00", "from")]
    [InlineData("?from=2026-12-02T00:00:00Z&to=2026-12-01T00:00:00Z", "to")]
    [InlineData("?limit=0", "limit")]
    [InlineData("?limit=501", "limit")]
    [InlineData("?limit=many", "limit")]
    [InlineData("?after=not-a-cursor", "after")]
    [InlineData("?after=MTIzNA", "after")]
    [InlineData("?partnerId=0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789x", "partnerId")]
    public Task ListPayments_BadParameter_400NamingIt(string query, string field)
        => QrService.AssertOpsQueryRefusedAsync("/ops/payments" + query, field);

    [Theory]
    [Databases]
    public async Task GetPayment_Confirmed_CodeScanTrailAdviceAndDeliveredOutboxWithoutTheToken(Db db)
    {
        await using var flow = await Flow.StartAsync(db);
        var code = await flow.CodeAsync();
        var request = Flow.PaymentFor(code.TranId!);
        Assert.Equal(HttpStatusCode.Created, (await flow.PayAndScanAsync(request)).Status);
        var confirmation = Flow.ConfirmationOf(request.Id!);
        Assert.Equal(HttpStatusCode.Accepted, (await flow.Pos.ConfirmPaymentAsync(confirmation)).Status);
        await Flow.UntilAsync(async () => (await flow.OutboxAsync()).Single().State == Api.Advices.OutboxState.Delivered, "the confirmation to arrive");
        using var ops = flow.Service.CreateClient(QrService.Operator, QrService.OperatorPassword);

        var response = await ops.GetAsync($"/ops/payments/{request.Id}");
        var text = await response.Content.ReadAsStringAsync();
        var detail = JsonSerializer.Deserialize<PaymentDetail>(text, QrJson.Options)!;

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(("Confirmed", request.Id, QrService.Client), (detail.Payment.State, detail.Payment.RequestId, detail.Payment.ClientId));
        Assert.Equal((code.TranId, QrService.Client, 10000L), (detail.QrCode!.TranId, detail.QrCode.ClientId, detail.QrCode.Amount));
        Assert.Equal(QrService.Partner, detail.Scan!.PartnerId);
        Assert.Equal(Assert.Single(flow.Partner.Received<PaymentRequest>(SimulatorState.Pay)).Id, detail.UpstreamRequestId);
        Assert.Equal(
            [(null, "AwaitingScan", "PaymentRequested"), ("AwaitingScan", "Forwarded", "ScanMatched"), ("Forwarded", "Approved", "PartnerApproved"), ("Approved", "Confirmed", "ConfirmedByPos")],
            detail.Transitions.Select(t => (t.From, t.To, t.Cause)).ToList());
        Assert.True(detail.Transitions.Zip(detail.Transitions.Skip(1)).All(p => p.First.At <= p.Second.At));
        var advice = Assert.Single(detail.Advices);
        Assert.Equal((confirmation.Id, "Confirmation", 202), (advice.Id, advice.Kind, advice.ResponseStatus));
        var sent = Assert.Single(detail.Outbox);
        Assert.Equal(("Confirmation", "Delivered", 1, 202), (sent.Kind, sent.State, sent.Attempts, sent.LastStatus));
        Assert.DoesNotContain(Token, text, StringComparison.Ordinal);
        Assert.DoesNotContain("partnerPaymentToken", text, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task GetPayment_UnknownOrNotOperator_404Or403Or401()
    {
        await using var service = new QrService(TestDatabase.Create(Db.Sqlite));
        using var ops = service.CreateClient(QrService.Operator, QrService.OperatorPassword);
        using var pos = service.PosHttp();
        using var anonymous = service.CreateClient();

        var unknown = await ops.GetAsync("/ops/payments/" + Guid.NewGuid());

        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Equal(ErrorType.UnableToLocateRecord, (await unknown.Content.ReadFromJsonAsync<ErrorDetail>(QrJson.Options))!.ErrorType);
        Assert.Equal(HttpStatusCode.Forbidden, (await pos.GetAsync("/ops/payments")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/ops/payments/x")).StatusCode);
    }

    private static string Rfc3339(DateTimeOffset time) =>
        Uri.EscapeDataString(time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", System.Globalization.CultureInfo.InvariantCulture));
}

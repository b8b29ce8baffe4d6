using System.Globalization;
using System.Net.Http.Headers;
using Electrum.QrPayments.Api.Advices;
using Electrum.QrPayments.Api.Ops;
using Electrum.QrPayments.PartnerSimulator;

namespace Electrum.QrPayments.Tests.Ops;

public class ReconciliationTests
{
    [Theory]
    [Databases]
    public async Task Reconciliation_DayOfPayments_TotalsAndUncertainMatchWhatWasMadeAndCsvAgrees(Db db)
    {
        await using var flow = await Flow.StartAsync(db);
        // The test's day starts at 10:00 UTC tomorrow, so no payment straddles midnight.
        var now = flow.Clock.GetUtcNow();
        flow.Clock.Advance(now.Date.AddDays(1).AddHours(10) - now.UtcDateTime);
        var day = flow.Clock.GetUtcNow().ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

        var confirmedA = await ConfirmedAsync(flow, 10000);
        var confirmedB = await ConfirmedAsync(flow, 2550);
        var reversed = await ApprovedAsync(flow, 700);
        Assert.Equal(HttpStatusCode.Accepted, (await flow.Pos.ReversePaymentAsync(Flow.ReversalOf(reversed.Id!, ReversalReason.Cancelled))).Status);
        await flow.Partner.Control.SetAsync(new Behaviour { Action = SimAction.Decline, Status = 400, ErrorType = ErrorType.DeclinedByIssuer }, SimulatorState.Pay);
        var declined = Flow.PaymentFor((await CodeForAsync(flow, 300)).TranId!, 300);
        Assert.Equal(HttpStatusCode.BadRequest, (await flow.PayAndScanAsync(declined)).Status);
        await flow.Partner.Control.SetAsync(new Behaviour { Action = SimAction.Error }, SimulatorState.Pay);
        var timedOut = Flow.PaymentFor((await CodeForAsync(flow, 4000)).TranId!, 4000);
        Assert.Equal(HttpStatusCode.GatewayTimeout, (await flow.PayAndScanAsync(timedOut)).Status);
        await flow.Partner.Control.ResetAsync();
        // Confirmed, but the partner refuses the confirmation: its state there is not certain.
        await flow.Partner.Control.SetAsync(new Behaviour { Action = SimAction.Decline, Status = 400, ErrorType = ErrorType.FormatError }, SimulatorState.Confirm);
        var refused = await ConfirmedAsync(flow, 999, waitForDelivery: false);
        await Flow.UntilAsync(async () => (await flow.OutboxAsync()).Any(o => o.State == OutboxState.Failed), "the confirmation to fail");
        await flow.Partner.Control.ResetAsync();
        // A second later, so the uncertain list (oldest first) has a defined order.
        flow.Clock.Advance(TimeSpan.FromSeconds(1));
        var approvedOnly = await flow.ApprovedPaymentAsync();
        await Flow.UntilAsync(async () => (await flow.OutboxAsync()).All(o => o.State != OutboxState.Pending), "every advice to be settled");
        // The next day's payment is not in this day's report.
        flow.Clock.Advance(TimeSpan.FromDays(1));
        await ConfirmedAsync(flow, 123);
        using var ops = flow.Service.CreateClient(QrService.Operator, QrService.OperatorPassword);

        var json = await ops.GetStringAsync($"/ops/reconciliation?date={day}");
        var report = JsonSerializer.Deserialize<ReconciliationReport>(json, QrJson.Options)!;

        var totals = Assert.Single(report.Totals);
        Assert.Equal((QrService.Partner, "710"), (totals.PartnerId, totals.Currency));
        Assert.Equal(new CountAndAmount(3, 10000 + 2550 + 999), totals.Confirmed);
        Assert.Equal(new CountAndAmount(1, 700), totals.Reversed);
        Assert.Equal(new CountAndAmount(1, 300), totals.Declined);
        Assert.Equal(new CountAndAmount(1, 4000), totals.TimedOut);
        Assert.Equal(2, report.UncertainCount);
        Assert.Equal([refused.Id!, approvedOnly.Id!], report.Uncertain.Select(u => u.RequestId));
        Assert.Equal("Failed", Assert.Single(report.Uncertain[0].Advices).State);
        Assert.Equal("Approved", report.Uncertain[1].State);
        Assert.Equal((day, "UTC"), (report.Date, report.TimeZone));

        using var csvRequest = new HttpRequestMessage(HttpMethod.Get, $"/ops/reconciliation?date={day}&partnerId={QrService.Partner}");
        csvRequest.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/csv"));
        using var csvResponse = await ops.SendAsync(csvRequest);
        Assert.Equal("text/csv", csvResponse.Content.Headers.ContentType!.MediaType);
        var csv = await csvResponse.Content.ReadAsStringAsync();
        var rows = ParseCsv(csv);
        var list = await ops.GetStringAsync("/ops/payments?limit=500");
        Assert.All(new[] { json, csv, list }, text => Assert.DoesNotContain("tok-secret-123", text, StringComparison.Ordinal));

        Assert.Equal(["request_id", "upstream_request_id", "tran_id", "client_id", "partner_id", "currency", "amount", "state", "created_at", "updated_at", "advices"], rows[0]);
        var byId = rows.Skip(1).ToDictionary(r => r[0]);
        Assert.Equal(
            new[] { confirmedA, confirmedB, reversed, declined, timedOut, refused, approvedOnly }.Select(p => p.Id!).Order(StringComparer.Ordinal),
            byId.Keys.Order(StringComparer.Ordinal));
        foreach (var (state, expected) in new[] { ("Confirmed", totals.Confirmed), ("Reversed", totals.Reversed), ("Declined", totals.Declined), ("TimedOut", totals.TimedOut) })
        {
            var ofState = byId.Values.Where(r => r[7] == state).ToList();
            Assert.Equal(expected, new CountAndAmount(ofState.Count, ofState.Sum(r => long.Parse(r[6], CultureInfo.InvariantCulture))));
        }

        Assert.Equal("failed", byId[refused.Id!][10]);
        Assert.Equal("delivered", byId[reversed.Id!][10]);
        Assert.Equal("none", byId[declined.Id!][10]);
        Assert.Equal(QrService.Client, byId[confirmedA.Id!][3]);
        // The partner knows a payment by the id we sent it, not the POS's.
        Assert.Equal(flow.Partner.Received<PaymentRequest>(SimulatorState.Pay).Select(p => p.Id!).Take(7).Order(StringComparer.Ordinal),
            byId.Values.Select(r => r[1]).Order(StringComparer.Ordinal));
        Assert.All(byId.Values, r => Assert.True(DateTimeOffset.TryParse(r[8], CultureInfo.InvariantCulture, out _)));
    }

    [Theory]
    [Databases]
    public async Task Reconciliation_OtherPartnerOrDayWithoutPayments_EmptyTotalsAndHeaderOnlyCsv(Db db)
    {
        await using var flow = await Flow.StartAsync(db);
        await ConfirmedAsync(flow, 100);
        var today = flow.Clock.GetUtcNow().ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        using var ops = flow.Service.CreateClient(QrService.Operator, QrService.OperatorPassword);

        var other = await ops.GetFromJsonAsync<ReconciliationReport>($"/ops/reconciliation?date={today}&partnerId=nobody", QrJson.Options);
        using var csvRequest = new HttpRequestMessage(HttpMethod.Get, "/ops/reconciliation?date=2001-01-01");
        csvRequest.Headers.Accept.ParseAdd("text/csv");
        var csv = await (await ops.SendAsync(csvRequest)).Content.ReadAsStringAsync();

        Assert.Empty(other!.Totals);
        Assert.Equal(0, other.UncertainCount);
        Assert.Single(ParseCsv(csv));
        Assert.EndsWith("\r\n", csv, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("2026-07-01", "Africa/Johannesburg", "2026-06-30T22:00:00Z", "2026-07-01T22:00:00Z")]
    [InlineData("2026-03-08", "America/New_York", "2026-03-08T05:00:00Z", "2026-03-09T04:00:00Z")]
    [InlineData("2026-12-01", null, "2026-12-01T00:00:00Z", "2026-12-02T00:00:00Z")]
    [InlineData("2026-11-01", "America/Havana", "2026-11-01T04:00:00Z", "2026-11-02T05:00:00Z")]
    public async Task Reconciliation_TimeZone_DayIsThatZonesDay(string date, string? tz, string from, string to)
    {
        await using var service = new QrService(TestDatabase.Create(Db.Sqlite));
        using var ops = service.CreateClient(QrService.Operator, QrService.OperatorPassword);

        var report = await ops.GetFromJsonAsync<ReconciliationReport>($"/ops/reconciliation?date={date}" + (tz is null ? "" : "&tz=" + Uri.EscapeDataString(tz)), QrJson.Options);

        Assert.Equal(DateTimeOffset.Parse(from, CultureInfo.InvariantCulture), report!.From);
        Assert.Equal(DateTimeOffset.Parse(to, CultureInfo.InvariantCulture), report.To);
    }

    [Theory]
    [InlineData("", "date")]
    [InlineData("?date=2026-13-01", "date")]
    [InlineData("?date=01/12/2026", "date")]
    [InlineData("?date=2026-12-01&tz=Mars/Olympus", "tz")]
    [InlineData("?date=2026-12-01&tz=America", "tz")]
    [InlineData("?date=2026-12-01&tz=..%2F..%2Fetc%2Fpasswd", "tz")]
    [InlineData("?date=9999-12-31", "date")]
    [InlineData("?date=0001-01-01&tz=Asia/Tokyo", "date")]
    [InlineData("?date=2026-12-01&partnerId=%00", "partnerId")]
    public Task Reconciliation_BadParameter_400NamingIt(string query, string field)
        => QrService.AssertOpsQueryRefusedAsync("/ops/reconciliation" + query, field);

    private static async Task<PaymentRequest> ConfirmedAsync(Flow flow, long amount, bool waitForDelivery = true)
    {
        var request = await ApprovedAsync(flow, amount);
        Assert.Equal(HttpStatusCode.Accepted, (await flow.Pos.ConfirmPaymentAsync(Flow.ConfirmationOf(request.Id!))).Status);
        if (waitForDelivery)
        {
            await Flow.UntilAsync(async () => (await flow.OutboxAsync()).All(o => o.State != OutboxState.Pending), "the confirmation to arrive");
        }

        return request;
    }

    [Theory]
    [InlineData("plain", "plain")]
    [InlineData("a,b", "\"a,b\"")]
    [InlineData("say \"hi\"", "\"say \"\"hi\"\"\"")]
    [InlineData("two\r\nlines", "\"two\r\nlines\"")]
    [InlineData(null, "")]
    public void CsvField_SpecialCharacters_QuotedAsRfc4180(string? value, string expected)
    {
        var line = Reconciliation.Field(new System.Text.StringBuilder(), value).ToString();

        Assert.Equal(expected, line);
        Assert.Equal(value ?? "", Assert.Single(ParseCsv(line + "\r\n"))[0]);
    }

    [Theory]
    [InlineData("text/csv", true)]
    [InlineData("application/json", false)]
    [InlineData("application/json;q=1, text/csv;q=0.1", false)]
    [InlineData("text/csv;q=0.9, application/json;q=0.5", true)]
    [InlineData("text/csv, */*", true)]
    [InlineData("*/*, text/csv", false)]
    [InlineData("text/csv;q=0", false)]
    public async Task Reconciliation_Accept_CsvOnlyWhenPreferred(string accept, bool csv)
    {
        await using var service = new QrService(TestDatabase.Create(Db.Sqlite));
        using var ops = service.CreateClient(QrService.Operator, QrService.OperatorPassword);
        using var request = new HttpRequestMessage(HttpMethod.Get, "/ops/reconciliation?date=2026-12-01&partnerId=odd%2Fid%20here");
        request.Headers.TryAddWithoutValidation("Accept", accept);

        using var response = await ops.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(csv ? "text/csv" : "application/json", response.Content.Headers.ContentType!.MediaType);
        if (csv)
        {
            Assert.Equal("reconciliation-2026-12-01-odd_id_here.csv", response.Content.Headers.ContentDisposition!.FileName);
        }
    }

    private static async Task<PaymentRequest> ApprovedAsync(Flow flow, long amount)
    {
        var request = Flow.PaymentFor((await CodeForAsync(flow, amount)).TranId!, amount);
        Assert.Equal(HttpStatusCode.Created, (await flow.PayAndScanAsync(request)).Status);
        return request;
    }

    private static Task<CreateQrCodeResponse> CodeForAsync(Flow flow, long amount) =>
        flow.CodeAsync(new QrProperties { Value = new LedgerAmount { Amount = amount, Currency = "710" } });

    // A strict RFC 4180 reader: CRLF records, quoted fields with doubled quotes, nothing else.
    internal static List<string[]> ParseCsv(string text)
    {
        var rows = new List<string[]>();
        var fields = new List<string>();
        var field = new System.Text.StringBuilder();
        var i = 0;
        while (i < text.Length)
        {
            if (text[i] == '"')
            {
                i++;
                while (true)
                {
                    Assert.True(i < text.Length, "unterminated quoted field");
                    if (text[i] == '"' && i + 1 < text.Length && text[i + 1] == '"')
                    {
                        field.Append('"');
                        i += 2;
                    }
                    else if (text[i] == '"')
                    {
                        i++;
                        break;
                    }
                    else
                    {
                        field.Append(text[i++]);
                    }
                }
            }

            while (i < text.Length && text[i] is not (',' or '\r' or '\n'))
            {
                Assert.NotEqual('"', text[i]);
                field.Append(text[i++]);
            }

            fields.Add(field.ToString());
            field.Clear();
            if (i < text.Length && text[i] == ',')
            {
                i++;
                continue;
            }

            Assert.True(i + 1 < text.Length && text[i] == '\r' && text[i + 1] == '\n', "records end with CRLF");
            i += 2;
            rows.Add([.. fields]);
            fields.Clear();
        }

        Assert.All(rows, r => Assert.Equal(rows[0].Length, r.Length));
        return rows;
    }
}

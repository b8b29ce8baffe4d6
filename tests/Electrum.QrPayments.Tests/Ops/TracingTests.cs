using System.Collections.Concurrent;
using System.Diagnostics;
using Electrum.QrPayments.Api.Ops;
using Electrum.QrPayments.PartnerSimulator;
using Electrum.QrPayments.Tests.Partners;

namespace Electrum.QrPayments.Tests.Ops;

public class TracingTests
{
    [Fact]
    public async Task Spans_Lifecycle_OperationHoldPartnerCallAndDeliveryWithTraceparentSentToThePartner()
    {
        var stopped = new ConcurrentQueue<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = s => s.Name is QrTracing.SourceName or QrTracing.HttpClientSource,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = stopped.Enqueue,
        };
        ActivitySource.AddActivityListener(listener);
        await using var world = await RawPartnerTests.RawWorld.StartAsync(Db.Sqlite);
        var payment = Flow.PaymentFor((await world.CodeAsync()).TranId!);

        Assert.Equal(HttpStatusCode.Created, (await world.PayAndScanAsync(payment)).Status);
        Assert.Equal(HttpStatusCode.Accepted, (await world.Pos.ConfirmPaymentAsync(Flow.ConfirmationOf(payment.Id!))).Status);
        await world.Partner.UntilReceivedAsync("/payments/confirmations", 1);

        // Spans of other tests run alongside: this test's are found through the partner's traceparents.
        var payParent = Traceparent(Assert.Single(world.Partner.ReceivedAt("/payments")));
        var confirmParent = Traceparent(Assert.Single(world.Partner.ReceivedAt("/payments/confirmations")));
        await Flow.UntilAsync(() => Task.FromResult(stopped.Any(a => a.DisplayName == "advice delivery" && a.TraceId == confirmParent.TraceId)), "the delivery span to end");
        await Flow.UntilAsync(() => Task.FromResult(stopped.Any(a => a.DisplayName == "pay" && a.TraceId == payParent.TraceId)), "the pay span to end");
        var payTrace = stopped.Where(a => a.TraceId == payParent.TraceId).ToList();
        var pay = Assert.Single(payTrace, a => a.DisplayName == "pay");
        var hold = Assert.Single(payTrace, a => a.DisplayName == "hold");
        var call = Assert.Single(payTrace, a => a.DisplayName == "partner pay");
        Assert.Equal(pay.SpanId, hold.ParentSpanId);
        Assert.Equal(pay.SpanId, call.ParentSpanId);
        Assert.Equal(ActivityKind.Client, call.Kind);
        // The partner's traceparent names HttpClient's span, under the partner call's.
        var sending = Assert.Single(payTrace, a => a.SpanId == payParent.SpanId);
        Assert.Equal(call.SpanId, sending.ParentSpanId);
        Assert.Equal(QrTracing.HttpClientSource, sending.Source.Name);
        Assert.Equal(("Forwarded", "Successful", QrService.Partner), (hold.GetTagItem("qr.payment.state"), call.GetTagItem("qr.outcome"), call.GetTagItem("qr.partner")));
        Assert.Equal(201, pay.GetTagItem("http.response.status_code"));
        var delivery = Assert.Single(stopped, a => a.DisplayName == "advice delivery" && a.TraceId == confirmParent.TraceId);
        Assert.Equal(("Confirmation", "Delivered"), (delivery.GetTagItem("qr.advice.kind"), delivery.GetTagItem("qr.advice.state")));
        Assert.Contains(stopped, a => a.DisplayName == "partner confirmPayment" && a.ParentSpanId == delivery.SpanId);
        var tags = payTrace.Where(a => a.Source.Name == QrTracing.SourceName).Concat([delivery]).SelectMany(a => a.TagObjects).Select(t => Convert.ToString(t.Value, System.Globalization.CultureInfo.InvariantCulture)).ToList();
        Assert.DoesNotContain(tags, t => t is not null && (t.Contains("tok-secret", StringComparison.Ordinal) || t == payment.Id));
    }

    [Fact]
    public async Task Logs_ProductionJsonLines_CarryTheTraceIdOfTheirRequest()
    {
        await using var partner = await Partner.StartAsync();
        await using var database = TestDatabase.Create(Db.Sqlite);
        await using var process = new ServiceProcess(database, partner, Loopback.FreePort(),
            new Dictionary<string, string> { ["Serilog__MinimumLevel"] = "Information" });
        await process.StartAsync();
        using var http = new HttpClient();
        var client = new Electrum.QrPayments.Contracts.Client.QrPaymentsClient(http, process.BaseUrl, new NetworkCredential(QrService.Client, QrService.ClientPassword));
        const string traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
        http.DefaultRequestHeaders.Add("traceparent", $"00-{traceId}-00f067aa0ba902b7-01");

        Assert.Equal(HttpStatusCode.Created, (await client.CreateQrCodeAsync(Messages.CreateQrCode())).Status);

        const string ours = "\"RequestPath\":\"/qr/v1/qrCodes\"";
        await Flow.UntilAsync(() => Task.FromResult(process.Output.Any(l => l.Contains(ours, StringComparison.Ordinal))), "the request's log line");
        var line = JsonNode.Parse(process.Output.First(l => l.Contains(ours, StringComparison.Ordinal)))!;
        // The caller's trace continues here: its id is on the line, as on every line logged in a request.
        Assert.Equal(traceId, line["TraceId"]?.GetValue<string>());
        Assert.All(process.Output.Where(l => l.Contains("\"RequestPath\"", StringComparison.Ordinal)),
            l => Assert.Matches("^[0-9a-f]{32}$", JsonNode.Parse(l)!["TraceId"]?.GetValue<string>() ?? ""));
        Assert.Matches("^[0-9a-f]{16}$", line["SpanId"]?.GetValue<string>() ?? "");
    }

    private static (ActivityTraceId TraceId, ActivitySpanId SpanId) Traceparent(RawRequest request)
    {
        var parts = Assert.Single(request.Values("traceparent")).Split('-');
        Assert.Equal(4, parts.Length);
        Assert.Equal("00", parts[0]);
        return (ActivityTraceId.CreateFromString(parts[1]), ActivitySpanId.CreateFromString(parts[2]));
    }
}

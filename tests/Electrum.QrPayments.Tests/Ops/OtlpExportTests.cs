using System.Collections.Concurrent;
using System.Text;
using Electrum.QrPayments.Api.Ops;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Electrum.QrPayments.Tests.Ops;

public class OtlpExportTests
{
    [Fact]
    public async Task OtlpExport_EndpointConfigured_MetricsAndSpansReachTheCollectorOverHttp()
    {
        // A stand-in collector: a plain HTTP endpoint that keeps what is posted to it.
        var received = new ConcurrentQueue<(string Path, string? ContentType, byte[] Body)>();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        await using var collector = builder.Build();
        collector.MapPost("/{**path}", async (HttpContext http) =>
        {
            using var body = new MemoryStream();
            await http.Request.Body.CopyToAsync(body);
            received.Enqueue((http.Request.Path.Value!, http.Request.ContentType, body.ToArray()));
            return Results.Ok();
        });
        await collector.StartAsync();
        var endpoint = collector.Urls.Single();
        await using var service = new QrService(TestDatabase.Create(Db.Sqlite), new Dictionary<string, string?>
        {
            [Telemetry.EndpointKey] = endpoint,
            [Telemetry.ProtocolKey] = "http/protobuf",
            [Telemetry.MetricIntervalKey] = "200",
            [Telemetry.SpanDelayKey] = "200",
            [Telemetry.ServiceNameKey] = "qr-under-test",
        });
        var created = await service.Api().CreateQrCodeAsync(Messages.CreateQrCode());
        Assert.Equal(HttpStatusCode.Created, created.Status);
        // Paths and queries carry ids: no exported span keeps them.
        var lookedUp = "looked-up-" + Guid.NewGuid().ToString("N");
        using var ops = service.CreateClient(QrService.Operator, QrService.OperatorPassword);
        Assert.Equal(HttpStatusCode.NotFound, (await ops.GetAsync($"/ops/payments/{lookedUp}?secret=query-{lookedUp}")).StatusCode);

        // The SDK listens for the meter by name, so in this shared test process an export can also
        // carry other services' calls: wait for one with ours.
        static bool Ours(byte[] body) => Contains(body, "qr.operations") && Contains(body, "createQrCode");
        await Flow.UntilAsync(() => Task.FromResult(received.Any(r => Ours(r.Body))), "qr.operations to be exported");

        var export = received.First(r => Ours(r.Body));
        Assert.Equal("/v1/metrics", export.Path);
        Assert.Equal("application/x-protobuf", export.ContentType);
        Assert.True(Contains(export.Body, QrMetrics.MeterName));
        Assert.True(Contains(export.Body, "qr-under-test"));
        await Flow.UntilAsync(() => Task.FromResult(received.Any(r => r.Path == "/v1/traces" && Contains(r.Body, "createQrCode"))
            && received.Any(r => r.Path == "/v1/traces" && Contains(r.Body, "getPayment"))), "the spans to be exported");
        Assert.DoesNotContain(received, r => Contains(r.Body, lookedUp));
        var spans = received.First(r => r.Path == "/v1/traces" && Contains(r.Body, "createQrCode"));
        Assert.True(Contains(spans.Body, QrTracing.SourceName));
        Assert.True(Contains(spans.Body, "qr-under-test"));
        Assert.DoesNotContain(received, r => Contains(r.Body, QrService.ClientPassword));
    }

    private static bool Contains(byte[] body, string text) => body.AsSpan().IndexOf(Encoding.UTF8.GetBytes(text)) >= 0;
}

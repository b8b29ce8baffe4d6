using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Electrum.QrPayments.Api.Ops;

/// <summary>
/// OpenTelemetry export of metrics and traces over OTLP, configured by the standard variables and off when
/// <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is unset. They are read through configuration (environment
/// variables are part of it), so a test can set them for one service instance.
/// </summary>
public static class Telemetry
{
    public const string EndpointKey = "OTEL_EXPORTER_OTLP_ENDPOINT";
    public const string ProtocolKey = "OTEL_EXPORTER_OTLP_PROTOCOL";
    public const string ServiceNameKey = "OTEL_SERVICE_NAME";
    public const string MetricIntervalKey = "OTEL_METRIC_EXPORT_INTERVAL";
    public const string SpanDelayKey = "OTEL_BSP_SCHEDULE_DELAY";
    public const string DefaultServiceName = "electrum-qr-payments";

    public static IServiceCollection AddQrTelemetry(this IServiceCollection services, IConfiguration configuration)
    {
        var endpoint = configuration[EndpointKey];
        if (string.IsNullOrWhiteSpace(endpoint))
        {
            return services;
        }

        if (!Uri.TryCreate(endpoint, UriKind.Absolute, out var baseUri) || baseUri.Scheme is not ("http" or "https"))
        {
            throw new InvalidOperationException($"{EndpointKey} must be an absolute http(s) URL, e.g. http://collector:4318");
        }

        var protocol = configuration[ProtocolKey] switch
        {
            null or "" or "http/protobuf" => OtlpExportProtocol.HttpProtobuf,
            "grpc" => OtlpExportProtocol.Grpc,
            var other => throw new InvalidOperationException($"{ProtocolKey} must be http/protobuf or grpc, not {other}"),
        };
        var interval = int.TryParse(configuration[MetricIntervalKey], out var ms) && ms > 0 ? ms : 60_000;
        var spanDelay = int.TryParse(configuration[SpanDelayKey], out var delay) && delay > 0 ? delay : 5_000;
        var resource = ResourceBuilder.CreateDefault().AddService(configuration[ServiceNameKey] ?? DefaultServiceName);
        services.AddSingleton(_ => Sdk.CreateMeterProviderBuilder()
            .SetResourceBuilder(resource)
            .AddMeter(QrMetrics.MeterName)
            .AddOtlpExporter((exporter, reader) =>
            {
                Target(exporter, baseUri, protocol, "v1/metrics");
                reader.PeriodicExportingMetricReaderOptions.ExportIntervalMilliseconds = interval;
            })
            .Build());
        services.AddSingleton(_ => Sdk.CreateTracerProviderBuilder()
            .SetResourceBuilder(resource)
            // ASP.NET Core's request span is the parent of ours and carries a caller's traceparent;
            // HttpClient's span is the one partners are told of.
            .AddSource(QrTracing.SourceName, QrTracing.AspNetCoreSource, QrTracing.HttpClientSource)
            .AddProcessor(new UrlScrubber())
            .AddOtlpExporter(exporter =>
            {
                Target(exporter, baseUri, protocol, "v1/traces");
                exporter.BatchExportProcessorOptions.ScheduledDelayMilliseconds = spanDelay;
            })
            .Build());
        services.AddHostedService<TelemetryLifetime>();
        return services;
    }

    // Set here, the endpoint is taken as is: over HTTP the signal's path is ours to add, as the variable's meaning asks.
    private static void Target(OtlpExporterOptions exporter, Uri baseUri, OtlpExportProtocol protocol, string signalPath)
    {
        exporter.Protocol = protocol;
        exporter.Endpoint = protocol == OtlpExportProtocol.HttpProtobuf ? new Uri(baseUri.AbsoluteUri.TrimEnd('/') + "/" + signalPath) : baseUri;
    }

    // Builds the providers when the service starts, so export begins; the container disposes them
    // (which flushes what is left) when it stops.
    private sealed class TelemetryLifetime(MeterProvider meters, TracerProvider traces) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken)
        {
            // Being resolved is what starts them.
            GC.KeepAlive(meters);
            GC.KeepAlive(traces);
            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }

    // Paths carry request ids and tranIds (/ops/payments/{requestId}, /qrCodes/{tranId}/image), and
    // query strings whatever a caller put there: the operation span's name says what was called.
    private sealed class UrlScrubber : BaseProcessor<System.Diagnostics.Activity>
    {
        public override void OnEnd(System.Diagnostics.Activity data)
        {
            data.SetTag("url.path", null);
            data.SetTag("url.query", null);
            if (data.GetTagItem("url.full") is string full && Uri.TryCreate(full, UriKind.Absolute, out var uri))
            {
                data.SetTag("url.full", uri.GetLeftPart(UriPartial.Authority) + "/…");
            }
        }
    }
}

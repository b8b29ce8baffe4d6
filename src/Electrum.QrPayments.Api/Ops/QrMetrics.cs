using System.Diagnostics.Metrics;
using Electrum.QrPayments.Api.Advices;
using Electrum.QrPayments.Api.Payments;
using Electrum.QrPayments.Api.Persistence;
using Microsoft.EntityFrameworkCore;

namespace Electrum.QrPayments.Api.Ops;

/// <summary>
/// The service's instruments, on the meter <see cref="MeterName"/> (what dotnet-counters and the
/// OpenTelemetry exporter read). Tags carry operation names, partner ids, states and error types,
/// never a message id, token or amount.
/// </summary>
public sealed class QrMetrics
{
    public const string MeterName = "Electrum.QrPayments";

    // Seconds, not the exporter's default millisecond buckets: partner calls take milliseconds to
    // PartnerTimeout, holds up to ScanWait, advice deliveries up to hours of retries.
    private static readonly double[] CallBuckets = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 30];
    private static readonly double[] WaitBuckets = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 21600, 86400];

    private readonly Counter<long> operations;
    private readonly Histogram<double> holdTime;
    private readonly Histogram<double> partnerLatency;
    private readonly Histogram<double> adviceDelivery;

    public QrMetrics(IMeterFactory meters, HeldWatcher watcher, OutboxSampler outbox, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(meters);
        var meter = meters.Create(MeterName);
        operations = meter.CreateCounter<long>("qr.operations", "{call}",
            "Calls answered, by operation, HTTP status and (for an ErrorDetail) error.type");
        holdTime = meter.CreateHistogram("qr.payment.hold.duration", "s",
            "How long a pay was held for its scan, by how the hold ended (Forwarded, NoScan, Reversed)", null, Advice(WaitBuckets));
        partnerLatency = meter.CreateHistogram("qr.partner.duration", "s",
            "Calls to partners, by partner, operation and outcome (Successful, Failed, Unknown)", null, Advice(CallBuckets));
        adviceDelivery = meter.CreateHistogram("qr.advice.delivery.duration", "s",
            "From an advice being queued to its delivery (or final refusal), by partner, kind and result", null, Advice(WaitBuckets));
        // A count per instance, so it adds up across instances: an up-down counter, not a gauge.
        meter.CreateObservableUpDownCounter("qr.payment.held", () => watcher.HeldPayments, "{payment}",
            "Pays held on this instance waiting for their scan");
        meter.CreateObservableGauge("qr.outbox.depth", () => outbox.Latest is { } s ? [new Measurement<int>(s.Pending)] : Array.Empty<Measurement<int>>(),
            "{advice}", "Advices queued to partners and not yet delivered (all instances)");
        meter.CreateObservableGauge("qr.outbox.oldest_pending.age",
            () => outbox.Latest is { } s ? [new Measurement<double>(s.OldestAgeSeconds(time.GetUtcNow()))] : Array.Empty<Measurement<double>>(),
            "s", "Age of the oldest advice not yet delivered (0 when none)");
    }

    public void Operation(string operation, int status, string? errorType)
    {
        if (errorType is null)
        {
            operations.Add(1, new("qr.operation", operation), new("http.response.status_code", status));
        }
        else
        {
            operations.Add(1, new("qr.operation", operation), new("http.response.status_code", status), new("error.type", errorType));
        }
    }

    public void Hold(TimeSpan held, PaymentState endedAs) =>
        holdTime.Record(held.TotalSeconds, new KeyValuePair<string, object?>("qr.payment.state", endedAs.ToString()));

    public void PartnerCall(string partnerId, string operation, string outcome, TimeSpan elapsed) =>
        partnerLatency.Record(elapsed.TotalSeconds, new("qr.partner", partnerId), new("qr.operation", operation), new("qr.outcome", outcome));

    public void AdviceSettled(string partnerId, AdviceKind kind, OutboxState result, TimeSpan sinceQueued) =>
        adviceDelivery.Record(sinceQueued.TotalSeconds, new("qr.partner", partnerId), new("qr.advice.kind", kind.ToString()), new("qr.advice.state", result.ToString()));

    private static InstrumentAdvice<double> Advice(double[] buckets) => new() { HistogramBucketBoundaries = buckets };
}

/// <summary>What the outbox looked like at <see cref="At"/>.</summary>
public sealed record OutboxSample(int Pending, DateTimeOffset? Oldest, DateTimeOffset At)
{
    public double OldestAgeSeconds(DateTimeOffset now) => Oldest is { } oldest ? Math.Max(0, (now - oldest).TotalSeconds) : 0;
}

/// <summary>
/// Samples the outbox every <see cref="Interval"/> for the gauges (which are read synchronously, so
/// they cannot query); nothing is reported before the first sample.
/// </summary>
public sealed partial class OutboxSampler(IServiceScopeFactory scopes, TimeProvider time, ILogger<OutboxSampler> logger) : BackgroundService
{
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(5);

    private volatile OutboxSample? latest;

    public OutboxSample? Latest => latest;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await using var scope = scopes.CreateAsyncScope();
                var db = scope.ServiceProvider.GetRequiredService<QrDbContext>();
                var count = await db.Outbox.CountAsync(o => o.State == OutboxState.Pending, stoppingToken);
                var oldest = count == 0 ? null : await OldestPendingAsync(db, stoppingToken);
                latest = new OutboxSample(count, oldest, time.GetUtcNow());
                await Task.Delay(Interval, time, stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                LogSampleFailed(logger, e);
                await Task.Delay(Interval, time, stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
        }
    }

    /// <summary>When the oldest advice not yet delivered was queued (null when none).</summary>
    public static Task<DateTimeOffset?> OldestPendingAsync(QrDbContext db, CancellationToken ct) =>
        db.Outbox.Where(o => o.State == OutboxState.Pending).MinAsync(o => (DateTimeOffset?)o.CreatedAt, ct);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Sampling the outbox for its gauges failed; trying again")]
    private static partial void LogSampleFailed(ILogger logger, Exception exception);
}

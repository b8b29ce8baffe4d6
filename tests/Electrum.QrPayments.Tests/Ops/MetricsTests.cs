using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Electrum.QrPayments.Api.Advices;
using Electrum.QrPayments.Api.Ops;
using Electrum.QrPayments.PartnerSimulator;
using Microsoft.Extensions.DependencyInjection;

namespace Electrum.QrPayments.Tests.Ops;

public class MetricsTests
{
    [Fact]
    public async Task Meter_Lifecycle_OperationsHoldPartnerCallsAndAdviceDeliveryRecorded()
    {
        await using var flow = await Flow.StartAsync(Db.Sqlite);
        using var recorded = new Recorded(flow.Service.Services.GetRequiredService<IMeterFactory>());

        var request = await flow.ApprovedPaymentAsync();
        Assert.Equal(HttpStatusCode.Accepted, (await flow.Pos.ConfirmPaymentAsync(Flow.ConfirmationOf(request.Id!))).Status);
        await Flow.UntilAsync(async () => (await flow.OutboxAsync()).Single().State == OutboxState.Delivered, "the confirmation to arrive");
        var bad = await flow.Service.PosHttp().PostAsync("/qr/v1/qrCodes", new StringContent("{", System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        await Flow.UntilAsync(() => Task.FromResult(recorded.Of("qr.advice.delivery.duration").Count > 0), "the delivery to be measured");

        var operations = recorded.Of("qr.operations").Select(m => (m.Tag("qr.operation"), m.Tag("http.response.status_code"), m.Tag("error.type"))).ToList();
        Assert.True(operations.Contains(("createQrCode", "201", (string?)null)), string.Join("; ", operations));
        Assert.Contains(("pay", "201", null), operations);
        Assert.Contains(("notifyScan", "202", null), operations);
        Assert.Contains(("confirmPayment", "202", null), operations);
        Assert.Contains(("createQrCode", "400", "FORMAT_ERROR"), operations);
        var hold = Assert.Single(recorded.Of("qr.payment.hold.duration"));
        Assert.Equal("Forwarded", hold.Tag("qr.payment.state"));
        Assert.True(hold.Value >= 0);
        var calls = recorded.Of("qr.partner.duration").Select(m => (m.Tag("qr.partner"), m.Tag("qr.operation"), m.Tag("qr.outcome"))).ToList();
        Assert.Equal([(QrService.Partner, "pay", "Successful"), (QrService.Partner, "confirmPayment", "Successful")], calls);
        var delivery = Assert.Single(recorded.Of("qr.advice.delivery.duration"));
        Assert.Equal((QrService.Partner, "Confirmation", "Delivered"), (delivery.Tag("qr.partner"), delivery.Tag("qr.advice.kind"), delivery.Tag("qr.advice.state")));
        Assert.DoesNotContain(recorded.All, m => m.Tags.Values.Any(v => v is string s && (s.Contains("tok-secret", StringComparison.Ordinal) || s == request.Id)));
    }

    [Fact]
    public async Task Meter_HeldPayAndUndeliveredAdvice_GaugesShowThem()
    {
        await using var flow = await Flow.StartAsync(Db.Sqlite);
        using var recorded = new Recorded(flow.Service.Services.GetRequiredService<IMeterFactory>());
        var request = Flow.PaymentFor((await flow.CodeAsync()).TranId!);
        var paying = await flow.StartPayAsync(request);

        // Stored first, then held: the gauge follows within moments.
        await Flow.UntilAsync(() =>
        {
            recorded.Observe();
            return Task.FromResult(recorded.Last("qr.payment.held") == 1);
        }, "the held gauge to show the pay");

        await flow.ScanAsync(request.TranId!);
        Assert.Equal(HttpStatusCode.Created, (await paying).Status);
        await flow.Partner.Control.SetAsync(new Behaviour { Action = SimAction.Error }, SimulatorState.Confirm);
        Assert.Equal(HttpStatusCode.Accepted, (await flow.Pos.ConfirmPaymentAsync(Flow.ConfirmationOf(request.Id!))).Status);
        // The outbox gauges come from a sample taken every OutboxSampler.Interval (on the service's clock).
        await Flow.UntilAsync(() =>
        {
            flow.Clock.Advance(OutboxSampler.Interval);
            recorded.Observe();
            return Task.FromResult(recorded.Last("qr.outbox.depth") == 1 && recorded.Last("qr.outbox.oldest_pending.age") > 0);
        }, "the gauges to show the pending advice");
        Assert.Equal(0, recorded.Last("qr.payment.held"));
    }

    internal sealed record Measurement(string Instrument, double Value, IReadOnlyDictionary<string, object?> Tags)
    {
        public string? Tag(string name) => Tags.TryGetValue(name, out var v) ? Convert.ToString(v, System.Globalization.CultureInfo.InvariantCulture) : null;
    }

    /// <summary>Everything the service's own meter records (its factory's scope: other tests' services are not heard).</summary>
    internal sealed class Recorded : IDisposable
    {
        private readonly MeterListener listener = new();
        private readonly ConcurrentQueue<Measurement> all = new();

        public Recorded(IMeterFactory factory)
        {
            listener.InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == QrMetrics.MeterName && ReferenceEquals(instrument.Meter.Scope, factory))
                {
                    l.EnableMeasurementEvents(instrument);
                }
            };
            listener.SetMeasurementEventCallback<long>((i, v, tags, _) => Add(i, v, tags));
            listener.SetMeasurementEventCallback<int>((i, v, tags, _) => Add(i, v, tags));
            listener.SetMeasurementEventCallback<double>((i, v, tags, _) => Add(i, v, tags));
            listener.Start();
        }

        public IReadOnlyList<Measurement> All => [.. all];

        public List<Measurement> Of(string instrument) => [.. all.Where(m => m.Instrument == instrument)];

        public double? Last(string instrument) => Of(instrument).LastOrDefault()?.Value;

        public void Observe() => listener.RecordObservableInstruments();

        public void Dispose() => listener.Dispose();

        private void Add(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            var copy = new Dictionary<string, object?>(StringComparer.Ordinal);
            foreach (var tag in tags)
            {
                copy[tag.Key] = tag.Value;
            }

            all.Enqueue(new Measurement(instrument.Name, value, copy));
        }
    }
}

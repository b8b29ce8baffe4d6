using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using Electrum.QrPayments.Contracts.Models;
using Electrum.QrPayments.PartnerSimulator;

namespace Electrum.QrPayments.Benchmarks.Load;

/// <summary>
/// One system under load: the POS client (as many connections as requests in flight, since held
/// pays each keep one open) and the partner's scanner (a bounded number of connections, so that
/// 10,000 held pays plus their scans fit the file-descriptor limit).
/// </summary>
internal sealed class LoadTarget : IDisposable
{
    private readonly HttpClient posHttp;
    private readonly HttpClient scanHttp;
    private int confirmations;

    public LoadTarget(Uri serviceUrl, SimulatorOptions partner, int scanConnections)
    {
        Partner = partner;
        // Longer than ScanWait + PartnerTimeout, so the system under test decides every outcome.
        posHttp = new HttpClient(new SocketsHttpHandler()) { Timeout = TimeSpan.FromSeconds(120) };
        scanHttp = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = scanConnections }) { Timeout = TimeSpan.FromSeconds(120) };
        Pos = new WireClient(posHttp, serviceUrl, new NetworkCredential("pos-1", "pos-1-secret"), Tally);
        Scanner = new WireClient(scanHttp, serviceUrl, new NetworkCredential(partner.PartnerId, partner.ServicePassword), Tally);
        ScanConnections = scanConnections;
    }

    public Tally Tally { get; } = new();
    public WireClient Pos { get; }
    public WireClient Scanner { get; }
    public SimulatorOptions Partner { get; }
    public int ScanConnections { get; }

    /// <summary>Confirmations answered 202 since the last call: the advices the partner must receive.</summary>
    public int TakeConfirmations() => Interlocked.Exchange(ref confirmations, 0);

    public void Confirmed() => Interlocked.Increment(ref confirmations);

    public void Dispose()
    {
        posHttp.Dispose();
        scanHttp.Dispose();
    }
}

/// <summary>Completed operations, the time they took, and their latencies (sorted, ms).</summary>
internal sealed record Timed(int Completed, double Seconds, IReadOnlyList<double> LatenciesMs)
{
    public double PerSecond => Completed / Seconds;

    public double Percentile(double q) => LatenciesMs.Count == 0 ? double.NaN : LatenciesMs[(int)Math.Min(LatenciesMs.Count - 1, q * LatenciesMs.Count)];
}

/// <summary>Held pays: how many were on the wire, scanned, approved, and how long the release took.</summary>
internal sealed record HeldOutcome(int Count, int ScansAccepted, int Approved, double SendSeconds, double ReleaseSeconds);

internal static class Scenarios
{
    private const int ScanAttempts = 5;

    // Far above what a client can do in any sensible duration; the clock is what ends a scenario.
    private const int MaxIterationsPerClient = 10_000_000;

    public static Task<Timed> CreateQrCodesAsync(LoadTarget target, int concurrency, TimeSpan duration, CancellationToken ct) =>
        ClosedLoopAsync(concurrency, duration, async () =>
            (await target.Pos.PostAsync<CreateQrCodeRequest, CreateQrCodeResponse>("createQrCode", "qrCodes", Messages.CreateCode(), 201, ct: ct)).Status == 201, ct);

    /// <summary>createQrCode, pay (held), notifyScan while the pay is pending, confirmPayment.</summary>
    public static Task<Timed> LifecyclesAsync(LoadTarget target, int concurrency, TimeSpan duration, CancellationToken ct) =>
        ClosedLoopAsync(concurrency, duration, () => LifecycleAsync(target, ct), ct);

    private static async Task<bool> LifecycleAsync(LoadTarget target, CancellationToken ct)
    {
        var code = await target.Pos.PostAsync<CreateQrCodeRequest, CreateQrCodeResponse>("createQrCode", "qrCodes", Messages.CreateCode(), 201, ct: ct);
        if (code.Body?.TranId is not { } tranId)
        {
            return false;
        }

        var payment = Messages.Payment(tranId);
        var sent = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var paying = target.Pos.PostAsync<PaymentRequest, PaymentResponse>("pay", "payments", payment, 201, sent, ct);
        await sent.Task.WaitAsync(TimeSpan.FromSeconds(10), ct);
        // Both systems let a scan wait briefly for a pay still on its way in; a refused scan is
        // counted and retried a few times.
        for (var attempt = 0; attempt < ScanAttempts && !paying.IsCompleted; attempt++)
        {
            var scan = await target.Scanner.PostAsync<ScanNotification, ScanNotification>(
                "notifyScan", "scans", SimulatorApp.Scan(target.Partner, tranId, "tok"), 202, ct: ct);
            if (scan.Status == 202)
            {
                break;
            }

            await Task.Delay(100, ct);
        }

        if ((await paying).Status != 201)
        {
            return false;
        }

        var confirm = await target.Pos.PostAsync<PaymentConfirmation, PaymentConfirmation>(
            "confirmPayment", "payments/confirmations", Messages.Confirmation(payment.Id!), 202, ct: ct);
        if (confirm.Status != 202)
        {
            return false;
        }

        target.Confirmed();
        return true;
    }

    /// <summary>Codes for the held scenario, created a few at a time (not measured).</summary>
    public static async Task<IReadOnlyList<string>> CreateCodesAsync(LoadTarget target, int count, CancellationToken ct)
    {
        var codes = new ConcurrentBag<string>();
        await Parallel.ForEachAsync(Enumerable.Range(0, count), new ParallelOptions { MaxDegreeOfParallelism = 64, CancellationToken = ct }, async (_, token) =>
        {
            var code = await target.Pos.PostAsync<CreateQrCodeRequest, CreateQrCodeResponse>("createQrCode", "qrCodes", Messages.CreateCode(), 201, ct: token);
            if (code.Body?.TranId is { } tranId)
            {
                codes.Add(tranId);
            }
        });
        return [.. codes];
    }

    /// <summary>
    /// Sends every pay at once, waits until all are on the wire plus <paramref name="settle"/> so the
    /// system has taken them in, then scans them all through the bounded scanner connections.
    /// </summary>
    public static async Task<HeldOutcome> HeldAsync(LoadTarget target, IReadOnlyList<string> codes, TimeSpan settle, CancellationToken ct)
    {
        var clock = Stopwatch.StartNew();
        var sent = codes.Select(_ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).ToArray();
        var pays = codes.Select((tranId, i) =>
            target.Pos.PostAsync<PaymentRequest, PaymentResponse>("pay", "payments", Messages.Payment(tranId), 201, sent[i], ct)).ToArray();
        try
        {
            await Task.WhenAll(sent.Select(s => s.Task)).WaitAsync(TimeSpan.FromSeconds(60), ct);
        }
        catch (TimeoutException)
        {
            // Scan anyway: pays still unsent are counted by what they get back.
        }

        var sendSeconds = clock.Elapsed.TotalSeconds;
        await Task.Delay(settle, ct);

        var releasing = Stopwatch.StartNew();
        var accepted = 0;
        await Parallel.ForEachAsync(codes, new ParallelOptions { MaxDegreeOfParallelism = target.ScanConnections, CancellationToken = ct }, async (tranId, token) =>
        {
            var scan = await target.Scanner.PostAsync<ScanNotification, ScanNotification>(
                "notifyScan", "scans", SimulatorApp.Scan(target.Partner, tranId, "tok"), 202, ct: token);
            if (scan.Status == 202)
            {
                Interlocked.Increment(ref accepted);
            }
        });
        var answers = await Task.WhenAll(pays);
        return new HeldOutcome(codes.Count, accepted, answers.Count(a => a.Status == 201), sendSeconds, releasing.Elapsed.TotalSeconds);
    }

    // Each client repeats the operation until the time is up; only successes count and are timed.
    private static async Task<Timed> ClosedLoopAsync(int concurrency, TimeSpan duration, Func<Task<bool>> operation, CancellationToken ct)
    {
        var latencies = new List<double>();
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(async _ =>
        {
            var mine = new List<double>();
            for (var i = 0; i < MaxIterationsPerClient && clock.Elapsed < duration && !ct.IsCancellationRequested; i++)
            {
                var started = Stopwatch.GetTimestamp();
                if (await operation())
                {
                    mine.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                }
            }

            lock (latencies)
            {
                latencies.AddRange(mine);
            }
        }));
        var seconds = clock.Elapsed.TotalSeconds;
        latencies.Sort();
        return new Timed(latencies.Count, seconds, latencies);
    }
}

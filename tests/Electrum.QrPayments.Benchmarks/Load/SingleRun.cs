using System.Globalization;
using Electrum.QrPayments.PartnerSimulator;

namespace Electrum.QrPayments.Benchmarks.Load;

/// <summary>
/// The scenarios against a service that is already running (by default the README's Development
/// instance), with the demo partner hosted here on port 9001. No CPU or memory figures: those need
/// --compare, which starts the processes itself.
/// </summary>
internal static class SingleRun
{
    public static async Task<int> RunAsync(Args args, CancellationToken ct)
    {
        var serviceUrl = new Uri(args.Get("--service", "http://localhost:5080/qr/v1"));
        var seconds = args.Int("--seconds", 15);
        var concurrency = args.Int("--concurrency", 32);
        var held = args.Int("--held", 1000);
        var options = new SimulatorOptions { Urls = $"http://127.0.0.1:{args.Int("--partner-port", 9001).ToString(CultureInfo.InvariantCulture)}", ServiceBaseUrl = serviceUrl };
        await using var partner = SimulatorApp.Build(options);
        await partner.StartAsync(ct);
        using var target = new LoadTarget(serviceUrl, options, args.Int("--scan-connections", 256));

        Console.WriteLine($"service {serviceUrl}, {concurrency} concurrent clients, {seconds} s per scenario, {Environment.ProcessorCount} cores");
        Print("createQrCode", await Scenarios.CreateQrCodesAsync(target, concurrency, TimeSpan.FromSeconds(seconds), ct), target);
        Print("lifecycle (createQrCode, pay, notifyScan, confirmPayment)", await Scenarios.LifecyclesAsync(target, concurrency, TimeSpan.FromSeconds(seconds), ct), target);
        var outcome = await Scenarios.HeldAsync(target, await Scenarios.CreateCodesAsync(target, held, ct), TimeSpan.FromSeconds(2), ct);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{held} pays held at once, then scanned: {outcome.Approved} approved, {outcome.ScansAccepted} scans accepted, " +
            $"first scan to last answer {outcome.ReleaseSeconds:0.0} s; {Unexpected(target)}"));
        await partner.StopAsync(CancellationToken.None);
        return 0;
    }

    private static void Print(string name, Timed timed, LoadTarget target) =>
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{name}: {timed.PerSecond:0} per s, p50 {timed.Percentile(0.5):0.0} ms, p95 {timed.Percentile(0.95):0.0} ms, p99 {timed.Percentile(0.99):0.0} ms; {Unexpected(target)}"));

    private static string Unexpected(LoadTarget target)
    {
        var counts = target.Tally.Snapshot();
        target.Tally.Clear();
        target.TakeConfirmations();
        return counts.Count == 0 ? "no unexpected answers" : "unexpected: " + string.Join(", ", counts.Select(c => $"{c.Key} x{c.Value}"));
    }
}

using System.Globalization;
using Electrum.QrPayments.Benchmarks.Load;
using Electrum.QrPayments.PartnerSimulator;

namespace Electrum.QrPayments.Benchmarks.Compare;

/// <summary>One scenario's figures for one system in one run.</summary>
internal sealed record Measure(
    string Scenario, Timed? Timed, HeldOutcome? Held, int Units, double CpuSeconds, double? DbCpuSeconds, double LoadCpuSeconds, DatabaseStats? Written,
    IReadOnlyDictionary<string, int> Unexpected, int AdvicesExpected, int AdvicesDelivered);

/// <summary>Everything one child process did in one run.</summary>
internal sealed record SystemRun(string System, int Run, IReadOnlyList<Measure> Measures, double PeakRssMiB, int BusyLines, int ErrorLines);

/// <summary>The settings of a --compare run.</summary>
internal sealed record CompareSettings(
    bool Postgres, int Runs, int Seconds, int Concurrency, int Held, int WarmupSeconds, int SettleSeconds, int ScanConnections,
    string ScanWait, IReadOnlySet<string> Scenarios, string ServiceDll, string PostgresConnection, int PoolSize, bool Keep)
{
    public const string Create = "create";
    public const string Lifecycle = "lifecycle";
    public const string HeldScenario = "held";

    public static CompareSettings Parse(Args args, string? repository) => new(
        Postgres: args.Get("--db", "sqlite") switch
        {
            "sqlite" => false,
            "postgres" => true,
            var other => throw new ArgumentException($"--db must be sqlite or postgres, not {other}"),
        },
        Runs: args.Int("--runs", 3),
        Seconds: args.Int("--seconds", 15),
        Concurrency: args.Int("--concurrency", 32),
        Held: args.Int("--held", 1000),
        WarmupSeconds: args.Int("--warmup", 3),
        SettleSeconds: args.Int("--settle", 2),
        ScanConnections: args.Int("--scan-connections", 256),
        ScanWait: args.Get("--scan-wait", "00:00:30"),
        Scenarios: args.Get("--scenarios", "create,lifecycle,held").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToHashSet(StringComparer.Ordinal),
        ServiceDll: Path.GetFullPath(args.Get("--service-dll",
            Path.Combine(repository ?? ".", "src", "Electrum.QrPayments.Api", "bin", "Release", "net10.0", "Electrum.QrPayments.Api.dll"))),
        PostgresConnection: args.Get("--pg", "Host=127.0.0.1;Username=qr;Password=qr"),
        PoolSize: args.Int("--pool", 50),
        Keep: args.Has("--keep"));
}

/// <summary>
/// --compare: the baseline and the service, each a child process on a fresh database, driven by the
/// same load generator against the same in-process partner; medians of several runs in one table.
/// Children are restarted for every run (fresh process, fresh database), and the order alternates
/// (baseline first in odd runs) so a drift in the machine's load falls on both.
/// </summary>
internal static class CompareRunner
{
    public const string Baseline = "baseline";
    public const string Service = "service";

    public static async Task<int> RunAsync(Args args, CancellationToken ct)
    {
        var repository = Machine.RepositoryRoot();
        var settings = CompareSettings.Parse(args, repository);
        if (!File.Exists(settings.ServiceDll))
        {
            await Console.Error.WriteLineAsync($"no service at {settings.ServiceDll}: run `dotnet build -c Release` first (or pass --service-dll)");
            return 2;
        }

        // Each held pay keeps one socket open in this process and one in the child; scans and partner calls add a bounded few.
        var needed = settings.Held + (2L * settings.ScanConnections) + 1000;
        if (settings.Scenarios.Contains(CompareSettings.HeldScenario) && Machine.OpenFileLimit() < needed)
        {
            await Console.Error.WriteLineAsync($"warning: {settings.Held} held pays need about {needed} open files; the limit is {Machine.OpenFileLimit()} (ulimit -n)");
        }

        var partnerOptions = new SimulatorOptions { Urls = $"http://127.0.0.1:{Machine.FreePort().ToString(CultureInfo.InvariantCulture)}" };
        await using var partner = SimulatorApp.Build(partnerOptions);
        await partner.StartAsync(ct);
        var partnerState = partner.Services.GetRequiredService<SimulatorState>();

        var directory = Directory.CreateTempSubdirectory("qr-bench-").FullName;
        var results = new List<SystemRun>();
        try
        {
            await using var databases = new Databases(settings.Postgres, directory, settings.PostgresConnection, settings.PoolSize);
            var context = new RunContext(settings, databases, partnerOptions, partnerState, directory);
            var started = DateTimeOffset.UtcNow;
            for (var run = 1; run <= settings.Runs; run++)
            {
                string[] order = run % 2 == 1 ? [Baseline, Service] : [Service, Baseline];
                foreach (var system in order)
                {
                    var result = await RunSystemAsync(context, system, run, ct);
                    results.Add(result);
                    Progress(result);
                }
            }

            var report = new Report(settings, results, started, await databases.ServerVersionAsync(), repository, args.All);
            Console.WriteLine(report.Markdown());
            return 0;
        }
        finally
        {
            ChildProcess.StopAll();
            await partner.StopAsync(CancellationToken.None);
            if (settings.Keep)
            {
                await Console.Error.WriteLineAsync($"logs and files kept in {directory}");
            }
            else
            {
                Directory.Delete(directory, recursive: true);
            }
        }
    }

    /// <summary>
    /// The service as a child process on a fresh database, with the settings every report names
    /// (Development, warnings and errors logged only), plus <paramref name="extra"/>.
    /// </summary>
    public static ChildProcess StartService(CompareSettings settings, FreshDatabase fresh, int port, string logPath,
        IReadOnlyDictionary<string, string>? extra = null)
    {
        var environment = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}",
            ["ASPNETCORE_ENVIRONMENT"] = "Development",
            ["ConnectionStrings__QrPayments"] = fresh.ServiceConnection,
            ["QrPayments__Database"] = settings.Postgres ? "Postgres" : "Sqlite",
            ["Serilog__MinimumLevel__Default"] = "Warning",
        };
        foreach (var (key, value) in extra ?? new Dictionary<string, string>())
        {
            environment[key] = value;
        }

        return ChildProcess.Start(Machine.DotnetHost(), [settings.ServiceDll], environment, Path.GetDirectoryName(settings.ServiceDll)!, logPath);
    }

    private static async Task<SystemRun> RunSystemAsync(RunContext context, string system, int run, CancellationToken ct)
    {
        var settings = context.Settings;
        var fresh = await context.Databases.CreateAsync(system + run.ToString(CultureInfo.InvariantCulture));
        var port = Machine.FreePort();
        var logPath = Path.Combine(context.Directory, $"{system}-run{run.ToString(CultureInfo.InvariantCulture)}.log");
        var partnerBase = $"{context.Partner.Urls}/qr/v1";
        var child = system == Baseline
            ? ChildProcess.Start(Machine.DotnetHost(),
                [typeof(CompareRunner).Assembly.Location, "baseline", "--db", settings.Postgres ? "postgres" : "sqlite",
                 "--port", port.ToString(CultureInfo.InvariantCulture), "--connection", fresh.BaselineConnection,
                 "--partner", partnerBase, "--scan-wait", settings.ScanWait, "--partner-connections", settings.ScanConnections.ToString(CultureInfo.InvariantCulture)],
                new Dictionary<string, string>(StringComparer.Ordinal), AppContext.BaseDirectory, logPath)
            : StartService(settings, fresh, port, logPath, new Dictionary<string, string>(StringComparer.Ordinal)
            {
                ["QrPayments__Partners__0__BaseUrl"] = partnerBase,
                ["QrPayments__ScanWait"] = settings.ScanWait,
            });
        try
        {
            var url = new Uri($"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}");
            await WaitReadyAsync(child, url, ct);
            using var target = new LoadTarget(new Uri(url, "/qr/v1"), context.Partner, settings.ScanConnections);
            var duration = TimeSpan.FromSeconds(settings.Seconds);
            if (settings.WarmupSeconds > 0)
            {
                await Scenarios.LifecyclesAsync(target, settings.Concurrency, TimeSpan.FromSeconds(settings.WarmupSeconds), ct);
                await DrainAdvicesAsync(target, context.PartnerState, ct);
                target.Tally.Clear();
                if (context.Databases.IsPostgres)
                {
                    await Task.Delay(Databases.StatsDelay, ct);
                }
            }

            var measures = new List<Measure>();
            if (settings.Scenarios.Contains(CompareSettings.Create))
            {
                measures.Add(await MeasureAsync(context, child, fresh, target, "createQrCode", async () =>
                {
                    var timed = await Scenarios.CreateQrCodesAsync(target, settings.Concurrency, duration, ct);
                    return (timed, null, timed.Completed);
                }, ct));
            }

            if (settings.Scenarios.Contains(CompareSettings.Lifecycle))
            {
                measures.Add(await MeasureAsync(context, child, fresh, target, "lifecycle", async () =>
                {
                    var timed = await Scenarios.LifecyclesAsync(target, settings.Concurrency, duration, ct);
                    return (timed, null, timed.Completed);
                }, ct));
            }

            if (settings.Scenarios.Contains(CompareSettings.HeldScenario))
            {
                // Codes are made before the measurement starts; their failures still count.
                var codes = await Scenarios.CreateCodesAsync(target, settings.Held, ct);
                if (context.Databases.IsPostgres)
                {
                    await Task.Delay(Databases.StatsDelay, ct);
                }

                measures.Add(await MeasureAsync(context, child, fresh, target, "held", async () =>
                {
                    var held = await Scenarios.HeldAsync(target, codes, TimeSpan.FromSeconds(settings.SettleSeconds), ct);
                    return (null, held, held.Count);
                }, ct));
            }

            return new SystemRun(system, run, measures, child.PeakRssMiB(), child.BusyLines, child.ErrorLines);
        }
        catch (Exception) when (child.HasExited)
        {
            await Console.Error.WriteLineAsync($"{system} exited early; last lines of {child.LogPath}:");
            await Console.Error.WriteLineAsync(string.Join(Environment.NewLine, child.LogTail(30)));
            throw;
        }
        finally
        {
            child.Dispose();
            await context.Databases.DropAsync(fresh);
        }
    }

    private static async Task<Measure> MeasureAsync(RunContext context, ChildProcess child, FreshDatabase fresh, LoadTarget target, string scenario,
        Func<Task<(Timed? Timed, HeldOutcome? Held, int Units)>> body, CancellationToken ct)
    {
        var cpuBefore = child.CpuSeconds();
        var loadBefore = ChildProcess.ReadCpuSeconds(Environment.ProcessId) ?? double.NaN;
        var dbBefore = await context.Databases.BackendCpuAsync(fresh);
        var statsBefore = await context.Databases.StatsAsync(fresh);
        var (timed, held, units) = await body();
        // Deliveries belong to the lifecycles that caused them: wait for them before reading the CPU.
        var (expected, delivered) = await DrainAdvicesAsync(target, context.PartnerState, ct);
        var cpu = child.CpuSeconds() - cpuBefore;
        var loadCpu = (ChildProcess.ReadCpuSeconds(Environment.ProcessId) ?? double.NaN) - loadBefore;
        var dbCpu = context.Databases.IsPostgres ? Databases.BackendCpuBetween(dbBefore, await context.Databases.BackendCpuAsync(fresh)) : (double?)null;
        var unexpected = target.Tally.Snapshot();
        target.Tally.Clear();
        DatabaseStats? written = null;
        if (statsBefore is not null)
        {
            // Also lets the next scenario start from reported counts; the service's background polling in this pause is counted.
            await Task.Delay(Databases.StatsDelay, ct);
            written = await context.Databases.StatsAsync(fresh) is { } after
                ? new DatabaseStats(after.Commits - statsBefore.Commits, after.RowsWritten - statsBefore.RowsWritten)
                : null;
        }

        return new Measure(scenario, timed, held, units, cpu, dbCpu, loadCpu, written, unexpected, expected, delivered);
    }

    /// <summary>Waits (at most 60 s) until the partner has every confirmation answered 202 since the last call.</summary>
    private static async Task<(int Expected, int Delivered)> DrainAdvicesAsync(LoadTarget target, SimulatorState partner, CancellationToken ct)
    {
        var expected = target.TakeConfirmations();
        var delivered = 0;
        for (var waited = 0; waited < 600; waited++)
        {
            delivered = partner.ReceivedMessages.Count(r => r.Operation == SimulatorState.Confirm);
            if (delivered >= expected)
            {
                break;
            }

            await Task.Delay(100, ct);
        }

        partner.ClearReceived();
        return (expected, delivered);
    }

    internal static async Task WaitReadyAsync(ChildProcess child, Uri url, CancellationToken ct)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var clock = System.Diagnostics.Stopwatch.StartNew();
        for (var attempt = 0; attempt < 600 && clock.Elapsed < TimeSpan.FromSeconds(120); attempt++)
        {
            if (child.HasExited)
            {
                throw new InvalidOperationException($"child {child.Pid} exited before it was ready");
            }

            try
            {
                using var response = await http.GetAsync(new Uri(url, "/health/live"), ct);
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }

            await Task.Delay(200, ct);
        }

        throw new TimeoutException($"child {child.Pid} not ready after 120 s");
    }

    private static void Progress(SystemRun result)
    {
        var parts = result.Measures.Select(m => m.Timed is { } t
            ? string.Create(CultureInfo.InvariantCulture, $"{m.Scenario} {t.PerSecond:0}/s p99 {t.Percentile(0.99):0} ms cpu {1000 * m.CpuSeconds / Math.Max(1, m.Units):0.00} ms")
            : string.Create(CultureInfo.InvariantCulture, $"{m.Scenario} {m.Held!.Approved}/{m.Held.Count} approved in {m.Held.ReleaseSeconds:0.0} s"));
        var unexpected = string.Join(", ", result.Measures.SelectMany(m => m.Unexpected).Select(u => $"{u.Key} x{u.Value}"));
        Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"run {result.Run} {result.System}: {string.Join("; ", parts)}; peak RSS {result.PeakRssMiB:0} MiB; unexpected: {(unexpected.Length > 0 ? unexpected : "none")}"));
    }

    private sealed record RunContext(CompareSettings Settings, Databases Databases, SimulatorOptions Partner, SimulatorState PartnerState, string Directory);
}

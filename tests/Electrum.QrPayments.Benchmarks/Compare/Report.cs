using System.Globalization;
using System.Text;

namespace Electrum.QrPayments.Benchmarks.Compare;

/// <summary>The Markdown a --compare run prints: where, when, how, then one table of medians.</summary>
internal sealed class Report(
    CompareSettings settings, IReadOnlyList<SystemRun> runs, DateTimeOffset started, string database, string? repository, IReadOnlyList<string> arguments)
{
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    public string Markdown()
    {
        var text = new StringBuilder();
        var dll = typeof(Report).Assembly.Location;
        var shown = repository is not null ? Path.GetRelativePath(repository, dll) : dll;
        var commit = repository is not null ? Machine.Commit(repository) : null;
        Line(text, $"### {database}: service vs baseline, {started:yyyy-MM-dd HH:mm} UTC");
        Line(text, "");
        Line(text, $"- Machine: {Machine.Describe()}");
        Line(text, $"- Command (repository root, after `dotnet build -c Release`): `dotnet {shown} {string.Join(' ', arguments)}`");
        Line(text, $"- Service: `{(repository is not null ? Path.GetRelativePath(repository, settings.ServiceDll) : settings.ServiceDll)}`" +
                   $"{(commit is null ? "" : $" at {commit}")}, Development settings, `Serilog__MinimumLevel__Default=Warning`" +
                   (settings.Postgres ? $"; both systems `Maximum Pool Size={settings.PoolSize}`" : ""));
        Line(text, $"- Load: {settings.Concurrency} concurrent clients, {settings.Seconds} s per scenario after {settings.WarmupSeconds} s of warm-up lifecycles. " +
                   "createQrCode: codes only. lifecycle: createQrCode, pay (held), notifyScan once the pay is on the wire, confirmPayment " +
                   "(CPU read after the partner has every confirmation). " +
                   $"held {settings.Held}: {settings.Held} pays sent at once, {settings.SettleSeconds} s later all scanned through {settings.ScanConnections} connections; ScanWait {settings.ScanWait}");
        Line(text, $"- Medians of {settings.Runs} run(s); every run starts each system afresh on a fresh database (baseline first in odd runs). " +
                   "Ratio = service ÷ baseline: below 1 is slower for throughput, above 1 is slower (or costlier) for latency, CPU and memory.");
        Line(text, "");
        Line(text, "| scenario | measure | baseline | service | ratio |");
        Line(text, "|---|---|---:|---:|---:|");
        foreach (var scenario in runs.SelectMany(r => r.Measures).Select(m => m.Scenario).Distinct())
        {
            Rows(text, scenario);
        }

        const string whole = "whole run";
        Row(text, whole, "peak RSS (MiB)", r => r.PeakRssMiB, "0");
        Text(text, whole, "answers other than the expected (all runs)", r => r.Measures.SelectMany(m => m.Unexpected));
        if (!settings.Postgres)
        {
            Count(text, whole, "log lines with SQLITE_BUSY / database is locked (all runs)", r => r.BusyLines);
        }

        Count(text, whole, "error log lines (all runs)", r => r.ErrorLines);
        return text.ToString();
    }

    private void Rows(StringBuilder text, string scenario)
    {
        var label = scenario == "held" ? $"held {settings.Held}" : scenario;
        if (scenario == "held")
        {
            Row(text, label, "approved", r => M(r, scenario)?.Held?.Approved, "0", ratio: false, suffix: $" of {settings.Held}");
            Row(text, label, "scans accepted", r => M(r, scenario)?.Held?.ScansAccepted, "0", ratio: false, suffix: $" of {settings.Held}");
            Row(text, label, "all pays on the wire after (s)", r => M(r, scenario)?.Held?.SendSeconds, "0.00");
            Row(text, label, "first scan to last answer (s)", r => M(r, scenario)?.Held?.ReleaseSeconds, "0.0");
            Row(text, label, "CPU per held pay (ms)", r => PerUnit(M(r, scenario), m => m.CpuSeconds), "0.00");
            if (settings.Postgres)
            {
                Row(text, label, "PostgreSQL backends' CPU per held pay (ms)", r => PerUnit(M(r, scenario), m => m.DbCpuSeconds), "0.00");
                Row(text, label, "PostgreSQL transactions per held pay", r => PerUnitCount(M(r, scenario), w => w.Commits), "0.0");
                Row(text, label, "PostgreSQL rows written per held pay", r => PerUnitCount(M(r, scenario), w => w.RowsWritten), "0.0");
            }

            return;
        }

        var unit = scenario == "lifecycle" ? "lifecycle" : "call";
        Row(text, label, $"{unit}s/s", r => M(r, scenario)?.Timed?.PerSecond, "0");
        Row(text, label, "p50 (ms)", r => M(r, scenario)?.Timed?.Percentile(0.50), "0.0");
        Row(text, label, "p95 (ms)", r => M(r, scenario)?.Timed?.Percentile(0.95), "0.0");
        Row(text, label, "p99 (ms)", r => M(r, scenario)?.Timed?.Percentile(0.99), "0.0");
        Row(text, label, $"CPU per {unit} (ms)", r => PerUnit(M(r, scenario), m => m.CpuSeconds), "0.00");
        if (settings.Postgres)
        {
            Row(text, label, $"PostgreSQL backends' CPU per {unit} (ms)", r => PerUnit(M(r, scenario), m => m.DbCpuSeconds), "0.00");
        }

        if (settings.Postgres)
        {
            Row(text, label, $"PostgreSQL transactions per {unit}", r => PerUnitCount(M(r, scenario), w => w.Commits), "0.0");
            Row(text, label, $"PostgreSQL rows written per {unit}", r => PerUnitCount(M(r, scenario), w => w.RowsWritten), "0.0");
        }

        // The load generator and the partner share the machine: what they cost bounds what either system can reach.
        Row(text, label, $"load generator and partner CPU per {unit} (ms)", r => PerUnit(M(r, scenario), m => m.LoadCpuSeconds), "0.00", ratio: false);
        if (scenario == "lifecycle")
        {
            Row(text, label, "confirmations delivered to the partner (%)",
                r => M(r, scenario) is { AdvicesExpected: > 0 } m ? 100.0 * m.AdvicesDelivered / m.AdvicesExpected : null, "0.0", ratio: false);
        }
    }

    private static Measure? M(SystemRun run, string scenario) => run.Measures.FirstOrDefault(m => m.Scenario == scenario);

    private static double? PerUnit(Measure? measure, Func<Measure, double?> seconds) =>
        measure is { Units: > 0 } && seconds(measure) is { } s ? 1000 * s / measure.Units : null;

    private static double? PerUnitCount(Measure? measure, Func<DatabaseStats, long> count) =>
        measure is { Units: > 0, Written: { } written } ? (double)count(written) / measure.Units : null;

    private void Row(StringBuilder text, string scenario, string measure, Func<SystemRun, double?> value, string format, bool ratio = true, string suffix = "")
    {
        var baseline = Median(runs.Where(r => r.System == CompareRunner.Baseline).Select(value));
        var service = Median(runs.Where(r => r.System == CompareRunner.Service).Select(value));
        var quotient = ratio && baseline is > 0 && service is not null ? (service / baseline).Value.ToString(service / baseline >= 10 ? "0" : "0.00", Invariant) + "×" : "";
        Line(text, $"| {scenario} | {measure} | {Format(baseline, format)}{suffix} | {Format(service, format)}{suffix} | {quotient} |");
    }

    private void Text(StringBuilder text, string scenario, string measure, Func<SystemRun, IEnumerable<KeyValuePair<string, int>>> counts)
    {
        string Sum(string system)
        {
            var totals = runs.Where(r => r.System == system).SelectMany(counts)
                .GroupBy(c => c.Key, StringComparer.Ordinal).OrderBy(g => g.Key, StringComparer.Ordinal)
                .Select(g => $"{g.Key} ×{g.Sum(c => c.Value).ToString(Invariant)}").ToList();
            return totals.Count == 0 ? "none" : string.Join("; ", totals);
        }

        Line(text, $"| {scenario} | {measure} | {Sum(CompareRunner.Baseline)} | {Sum(CompareRunner.Service)} | |");
    }

    private void Count(StringBuilder text, string scenario, string measure, Func<SystemRun, int> count) =>
        Line(text, $"| {scenario} | {measure} | {runs.Where(r => r.System == CompareRunner.Baseline).Sum(count).ToString(Invariant)} " +
                   $"| {runs.Where(r => r.System == CompareRunner.Service).Sum(count).ToString(Invariant)} | |");

    private static double? Median(IEnumerable<double?> values)
    {
        var sorted = values.Where(v => v is not null && !double.IsNaN(v.Value)).Select(v => v!.Value).Order().ToList();
        return sorted.Count == 0 ? null
            : sorted.Count % 2 == 1 ? sorted[sorted.Count / 2]
            : (sorted[(sorted.Count / 2) - 1] + sorted[sorted.Count / 2]) / 2;
    }

    private static string Format(double? value, string format) => value is { } v ? v.ToString(format, Invariant) : "–";

    private static void Line(StringBuilder text, string line) => text.Append(line).Append('\n');
}

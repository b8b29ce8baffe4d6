using System.Runtime.InteropServices;
using Electrum.QrPayments.Benchmarks;
using Electrum.QrPayments.Benchmarks.Baseline;
using Electrum.QrPayments.Benchmarks.Compare;
using Electrum.QrPayments.Benchmarks.Load;

// Four modes (see docs/benchmarks.md):
//   baseline --db sqlite|postgres --port N --connection FILE|CONNSTRING --partner URL   the bare baseline service
//   --compare [--db sqlite|postgres] [--runs 3] [--seconds 15] [--held 1000] ...       baseline vs service, one table
//   [--service URL] [--seconds N] [--concurrency N] [--held N]                          scenarios against a running service
//   reconcile [--db sqlite|postgres] [--payments 100000]                                 the daily reconciliation over a seeded day
var parsed = new Args(args);
if (args.Length > 0 && args[0] == "baseline")
{
    return await BaselineApp.RunAsync(BaselineOptions.Parse(parsed));
}

using var stop = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    stop.Cancel();
};
// SIGTERM and SIGHUP end the run the same way: children are stopped and databases dropped on the way out.
using var terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c =>
{
    c.Cancel = true;
    stop.Cancel();
});
using var hangUp = PosixSignalRegistration.Create(PosixSignal.SIGHUP, c =>
{
    c.Cancel = true;
    stop.Cancel();
});
AppDomain.CurrentDomain.ProcessExit += (_, _) => ChildProcess.StopAll();

try
{
    return args.Length > 0 && args[0] == "reconcile" ? await ReconcileRunner.RunAsync(parsed, stop.Token)
        : parsed.Has("--compare") ? await CompareRunner.RunAsync(parsed, stop.Token)
        : await SingleRun.RunAsync(parsed, stop.Token);
}
catch (OperationCanceledException) when (stop.IsCancellationRequested)
{
    await Console.Error.WriteLineAsync("interrupted");
    return 130;
}
finally
{
    ChildProcess.StopAll();
}

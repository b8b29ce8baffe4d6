using System.Runtime.InteropServices;
using Electrum.QrPayments.Benchmarks;
using Electrum.QrPayments.Benchmarks.Baseline;
using Electrum.QrPayments.Benchmarks.Load;

// Two modes (see docs/benchmarks.md):
//   baseline --db sqlite|postgres --port N --connection FILE|CONNSTRING --partner URL   the bare baseline service
//   [--service URL] [--seconds N] [--concurrency N] [--held N]                          scenarios against a running service
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
// SIGTERM and SIGHUP end the run the same way as Ctrl-C.
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

try
{
    return await SingleRun.RunAsync(parsed, stop.Token);
}
catch (OperationCanceledException) when (stop.IsCancellationRequested)
{
    await Console.Error.WriteLineAsync("interrupted");
    return 130;
}

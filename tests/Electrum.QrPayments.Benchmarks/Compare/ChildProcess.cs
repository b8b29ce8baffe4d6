using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;

namespace Electrum.QrPayments.Benchmarks.Compare;

/// <summary>
/// A system under test in its own process: its output goes to a log file (lines that mention
/// SQLITE_BUSY or an error are counted), and its CPU time and peak RSS are read from /proc.
/// Every child is registered so that exit, Ctrl-C or SIGTERM in the parent ends its whole tree.
/// </summary>
internal sealed class ChildProcess : IDisposable
{
    // USER_HZ: /proc reports CPU time in ticks of 1/100 s on Linux.
    private const double TicksPerSecond = 100;
    private static readonly ConcurrentDictionary<int, ChildProcess> Running = new();

    private readonly Process process;
    private readonly StreamWriter log;
    private int busyLines;
    private int errorLines;
    private bool closed;

    private int disposed;

    private ChildProcess(Process process, string logPath)
    {
        this.process = process;
        LogPath = logPath;
        log = new StreamWriter(logPath) { AutoFlush = false };
    }

    public int Pid { get; private set; }
    public string LogPath { get; }
    public bool HasExited => process.HasExited;
    public int BusyLines => Volatile.Read(ref busyLines);
    public int ErrorLines => Volatile.Read(ref errorLines);

    public static ChildProcess Start(string fileName, IEnumerable<string> arguments, IReadOnlyDictionary<string, string> environment,
        string workingDirectory, string logPath)
    {
        var info = new ProcessStartInfo(fileName)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        foreach (var (key, value) in environment)
        {
            info.Environment[key] = value;
        }

        var process = new Process { StartInfo = info };
        var child = new ChildProcess(process, logPath);
        process.OutputDataReceived += (_, e) => child.Record(e.Data);
        process.ErrorDataReceived += (_, e) => child.Record(e.Data);
        process.Start();
        child.Pid = process.Id;
        Running[child.Pid] = child;
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return child;
    }

    /// <summary>User plus system CPU seconds used so far.</summary>
    public double CpuSeconds() => ReadCpuSeconds(Pid) ?? double.NaN;

    /// <summary>Peak resident set size (VmHWM) in MiB.</summary>
    public double PeakRssMiB()
    {
        foreach (var line in File.ReadLines($"/proc/{Pid.ToString(CultureInfo.InvariantCulture)}/status"))
        {
            if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
            {
                return long.Parse(line["VmHWM:".Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) / 1024.0;
            }
        }

        return double.NaN;
    }

    /// <summary>CPU seconds of any process, or null once it has gone.</summary>
    public static double? ReadCpuSeconds(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/stat");
            // Fields after the command name, which may itself hold spaces: state is field 3, utime 14, stime 15.
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) / TicksPerSecond;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    public IEnumerable<string> LogTail(int lines)
    {
        lock (log)
        {
            log.Flush();
        }

        return File.ReadLines(LogPath).TakeLast(lines);
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref disposed, 1) == 1)
        {
            return;
        }

        Stop();
        process.Dispose();
        lock (log)
        {
            closed = true;
            log.Dispose();
        }
    }

    /// <summary>Ends every child still running (the whole tree of each).</summary>
    public static void StopAll()
    {
        foreach (var child in Running.Values)
        {
            child.Stop();
        }
    }

    private void Stop()
    {
        try
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                process.WaitForExit(10_000);
            }
        }
        catch (InvalidOperationException)
        {
            // Never started or already reaped.
        }

        Running.TryRemove(Pid, out _);
    }

    private void Record(string? line)
    {
        if (line is null)
        {
            return;
        }

        if (line.Contains("SQLITE_BUSY", StringComparison.OrdinalIgnoreCase) || line.Contains("database is locked", StringComparison.OrdinalIgnoreCase))
        {
            Interlocked.Increment(ref busyLines);
        }

        // Serilog's text format ("[12:00:00 ERR]") and Microsoft's console format ("fail:").
        if (line.Contains(" ERR]", StringComparison.Ordinal) || line.Contains(" FTL]", StringComparison.Ordinal) || line.StartsWith("fail:", StringComparison.Ordinal))
        {
            Interlocked.Increment(ref errorLines);
        }

        lock (log)
        {
            if (!closed)
            {
                log.WriteLine(line);
            }
        }
    }
}

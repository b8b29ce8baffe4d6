using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Electrum.QrPayments.Benchmarks.Compare;

/// <summary>Facts about this machine and checkout that a figure needs next to it.</summary>
internal static class Machine
{
    public static string Describe()
    {
        var memory = File.ReadLines("/proc/meminfo").FirstOrDefault(l => l.StartsWith("MemTotal:", StringComparison.Ordinal)) is { } m
            ? long.Parse(m["MemTotal:".Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) / 1024.0 / 1024.0
            : double.NaN;
        var cpu = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal)) is { } c
            ? c[(c.IndexOf(':', StringComparison.Ordinal) + 1)..].Trim()
            : "unknown CPU";
        return string.Create(CultureInfo.InvariantCulture,
            $"{Environment.ProcessorCount} cores ({cpu}), {memory:0.0} GiB, {RuntimeInformation.OSDescription}, .NET {Environment.Version}");
    }

    /// <summary>The soft limit on open files, which bounds how many pays can be held at once.</summary>
    public static long OpenFileLimit() =>
        File.ReadLines("/proc/self/limits").FirstOrDefault(l => l.StartsWith("Max open files", StringComparison.Ordinal)) is { } line
        && long.TryParse(line["Max open files".Length..].Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries)[0], CultureInfo.InvariantCulture, out var limit)
            ? limit
            : long.MaxValue;

    /// <summary>A loopback port nobody listens on right now.</summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>The directory holding Electrum.QrPayments.sln above this program, if any.</summary>
    public static string? RepositoryRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        for (var depth = 0; directory is not null && depth < 12; depth++, directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Electrum.QrPayments.sln")))
            {
                return directory.FullName;
            }
        }

        return null;
    }

    /// <summary>The short commit of the checkout, with "+changes" when src/ differs from it; null without git.</summary>
    public static string? Commit(string repository)
    {
        var head = Git(repository, "rev-parse", "--short", "HEAD");
        return head is null ? null : Git(repository, "status", "--porcelain", "--untracked-files=no", "--", "src") is { Length: > 0 } ? $"{head}+changes" : head;
    }

    /// <summary>The dotnet host this program runs under, to start the children the same way.</summary>
    public static string DotnetHost() =>
        Environment.ProcessPath is { } path && Path.GetFileNameWithoutExtension(path) == "dotnet" ? path : "dotnet";

    private static string? Git(string repository, params string[] arguments)
    {
        try
        {
            var info = new ProcessStartInfo("git") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            info.ArgumentList.Add("-C");
            info.ArgumentList.Add(repository);
            foreach (var argument in arguments)
            {
                info.ArgumentList.Add(argument);
            }

            using var git = Process.Start(info)!;
            var output = git.StandardOutput.ReadToEnd().Trim();
            return git.WaitForExit(10_000) && git.ExitCode == 0 ? output : null;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return null;
        }
    }
}

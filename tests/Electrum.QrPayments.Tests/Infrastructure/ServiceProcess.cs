using System.Diagnostics;

namespace Electrum.QrPayments.Tests.Infrastructure;

/// <summary>
/// The service as a real child process (its built dll, production environment, real clock), so it
/// can be killed with SIGKILL and started again on the same database and port.
/// </summary>
public sealed class ServiceProcess : IAsyncDisposable
{
    private readonly Dictionary<string, string> environment;
    private Process? process;

    public ServiceProcess(TestDatabase database, Partner partner, int port, IDictionary<string, string>? extra = null)
    {
        Port = port;
        BaseUrl = new Uri($"http://127.0.0.1:{port}/qr/v1");
        environment = new Dictionary<string, string>
        {
            ["ASPNETCORE_ENVIRONMENT"] = "Production",
            ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}",
            ["ConnectionStrings__QrPayments"] = database.ConnectionString,
            ["QrPayments__Database"] = database.ProviderName,
            ["QrPayments__Clients__0__Id"] = QrService.Client,
            ["QrPayments__Clients__0__Secret"] = TestSecrets.Hash(QrService.ClientPassword),
            ["QrPayments__Partners__0__Id"] = QrService.Partner,
            ["QrPayments__Partners__0__Secret"] = TestSecrets.Hash(QrService.PartnerPassword),
            ["QrPayments__Partners__0__BaseUrl"] = partner.BaseUrl.ToString(),
            ["QrPayments__Partners__0__Username"] = QrService.PartnerUpstreamUser,
            ["QrPayments__Partners__0__Password"] = QrService.PartnerUpstreamPassword,
            ["Serilog__MinimumLevel"] = "Error",
        };
        foreach (var (key, value) in extra ?? new Dictionary<string, string>())
        {
            environment[key] = value;
        }
    }

    public int Port { get; }
    public Uri BaseUrl { get; }
    public int Starts { get; private set; }

    /// <summary>Every line the service wrote to stdout and stderr, across starts.</summary>
    public System.Collections.Concurrent.ConcurrentQueue<string> Output { get; } = new();

    public async Task StartAsync()
    {
        var info = new ProcessStartInfo("dotnet", [ApiDll()])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var (key, value) in environment)
        {
            info.Environment[key] = value;
        }

        process = Process.Start(info) ?? throw new InvalidOperationException("the service did not start");
        process.OutputDataReceived += (_, e) => Keep(e.Data);
        process.ErrorDataReceived += (_, e) => Keep(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        Starts++;

        // A probe that gives up mid-check makes the service log the cancelled check as an error, which
        // tests of a clean start would count: on a busy machine the first check may take seconds.
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(15) };
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < deadline)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"the service exited with {process.ExitCode} while starting");
            }

            try
            {
                if ((await http.GetAsync($"http://127.0.0.1:{Port}/health/ready")).IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }
            catch (TaskCanceledException)
            {
            }

            await Task.Delay(100);
        }

        throw new TimeoutException("the service did not become ready");
    }

    private void Keep(string? line)
    {
        if (line is not null)
        {
            Output.Enqueue(line);
        }
    }

    /// <summary>SIGKILL: no shutdown, no flushing, no finally blocks.</summary>
    public async Task KillAsync()
    {
        if (process is { HasExited: false })
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }

        process?.Dispose();
        process = null;
    }

    public async ValueTask DisposeAsync() => await KillAsync();

    // The service's build output beside this test assembly's (same configuration).
    private static string ApiDll()
    {
        var testDir = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var framework = testDir.Name;
        var configuration = testDir.Parent!.Name;
        var root = testDir;
        while (root is not null && !File.Exists(Path.Combine(root.FullName, "Electrum.QrPayments.sln")))
        {
            root = root.Parent;
        }

        var dll = Path.Combine(root?.FullName ?? throw new InvalidOperationException("repository root not found"),
            "src", "Electrum.QrPayments.Api", "bin", configuration, framework, "Electrum.QrPayments.Api.dll");
        return File.Exists(dll) ? dll : throw new FileNotFoundException("build the service first", dll);
    }
}

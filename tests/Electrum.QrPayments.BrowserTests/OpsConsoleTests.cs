using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text;
using Electrum.QrPayments.Api;
using Electrum.QrPayments.Contracts.Client;
using Electrum.QrPayments.Contracts.Json;
using Electrum.QrPayments.Contracts.Models;
using Electrum.QrPayments.PartnerSimulator;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Playwright;

namespace Electrum.QrPayments.BrowserTests;

public sealed class OpsConsoleTests
{
    private const string Token = "tok-browser-secret-42";
    private const string OpsUser = "ops";
    private const string OpsPassword = "ops-secret";
    private const string PosPassword = "pos-1-secret";

    [ChromiumFact]
    public async Task OpsConsole_OperatorFindsPaymentAndRequeuesFailedAdvice_SeesTimelineAndDelivery()
    {
        var servicePort = FreePort();
        var serviceUrl = new Uri($"http://127.0.0.1:{servicePort}/");
        // The Development demo: pos-1, demo-partner and the ops operator with their demo passwords.
        var partnerOptions = new SimulatorOptions { Urls = "http://127.0.0.1:0", ServiceBaseUrl = new Uri(serviceUrl, "qr/v1") };
        await using var partner = SimulatorApp.Build(partnerOptions);
        await partner.StartAsync();
        var partnerRoot = new Uri(partner.Urls.Single().TrimEnd('/') + "/");
        var database = Path.Combine(Path.GetTempPath(), $"qr-console-{Guid.NewGuid():N}.db");
        await using var service = new ConsoleService(database, new Uri(partnerRoot, "qr/v1"));
        service.UseKestrel(servicePort);
        service.StartServer();
        var control = new SimulatorClient(new HttpClient(), partnerRoot, partnerOptions);
        var payment = await ApprovedAndConfirmedWithFailedAdviceAsync(serviceUrl, control);
        // CI keeps them with its results (QR_SCREENSHOTS); locally they stay in the output folder.
        var shots = Directory.CreateDirectory(Environment.GetEnvironmentVariable("QR_SCREENSHOTS") is { Length: > 0 } dir
            ? dir : Path.Combine(AppContext.BaseDirectory, "screenshots")).FullName;

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ChromiumFactAttribute.Chromium,
            Headless = true,
            // A closed network: no background calls home, no sandbox as root.
            Args = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        });
        var page = await browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1200, Height = 1400 } });
        page.SetDefaultTimeout(15_000);
        await page.GotoAsync(new Uri(serviceUrl, "ops").ToString());

        var responses = new System.Collections.Concurrent.ConcurrentQueue<string>();
        page.Response += async (_, response) =>
        {
            try
            {
                responses.Enqueue(await response.TextAsync());
            }
            catch (PlaywrightException)
            {
                // A redirect or a download has no body to read.
            }
        };

        // A wrong password is refused on the page; then log in.
        await page.FillAsync("#user", OpsUser);
        await page.FillAsync("#password", "not-the-password");
        await page.ClickAsync("#login button[type=submit]");
        await page.WaitForFunctionAsync("() => document.getElementById('login-error').textContent === 'Wrong user or password.'");
        Assert.False(await page.IsVisibleAsync("#console"));
        await page.FillAsync("#user", OpsUser);
        await page.FillAsync("#password", OpsPassword);
        await page.ClickAsync("#login button[type=submit]");
        await page.WaitForSelectorAsync("#console", new PageWaitForSelectorOptions { State = WaitForSelectorState.Visible });
        await page.WaitForSelectorAsync("#attention button");
        Assert.Contains("Declined by simulator", await page.TextContentAsync("#attention"), StringComparison.Ordinal);
        Assert.Equal("1", await page.TextContentAsync("#health dd[data-name='Failed']"));
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(shots, "1-logged-in.png"), FullPage = true });

        // Find the payment and see its transitions.
        await page.FillAsync("#request-id", payment.Id!);
        await page.ClickAsync("#search button[type=submit]");
        await page.WaitForSelectorAsync("#payment", new PageWaitForSelectorOptions { State = WaitForSelectorState.Visible });
        var steps = await page.Locator("#timeline li").AllTextContentsAsync();
        Assert.Equal(4, steps.Count);
        Assert.StartsWith("AwaitingScan (PaymentRequested)", steps[0], StringComparison.Ordinal);
        Assert.StartsWith("Approved → Confirmed (ConfirmedByPos)", steps[3], StringComparison.Ordinal);
        Assert.Equal("Confirmed", await page.TextContentAsync("#payment-figures dd[data-name='State']"));
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(shots, "2-payment-timeline.png"), FullPage = true });

        // The partner is fixed; re-queue the failed confirmation, confirming the question, and see it delivered.
        await control.ResetAsync();
        string? question = null;
        page.Dialog += async (_, dialog) =>
        {
            question = dialog.Message;
            await dialog.AcceptAsync();
        };
        var requeued = await page.RunAndWaitForResponseAsync(() => page.ClickAsync("#attention button"), r => r.Url.EndsWith("/requeue", StringComparison.Ordinal));
        Assert.Equal(202, requeued.Status);
        await page.WaitForFunctionAsync("() => document.getElementById('attention-note').textContent.startsWith('Re-queued')");
        Assert.Contains("again now", question, StringComparison.Ordinal);
        await WaitUntilAsync(async () =>
        {
            await page.ClickAsync("#refresh");
            await page.WaitForTimeoutAsync(200);
            return await page.TextContentAsync("#health dd[data-name='Delivered']") == "1";
        });
        Assert.Equal("0", await page.TextContentAsync("#health dd[data-name='Failed']"));
        Assert.Equal("Nothing needs attention.", await page.TextContentAsync("#attention-empty"));
        await page.WaitForFunctionAsync("() => document.querySelector('#payment-outbox td:nth-child(2)')?.textContent === 'Delivered'");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(shots, "3-requeued-and-delivered.png"), FullPage = true });

        // The day's reconciliation downloads as CSV, the payment on it.
        var download = await page.RunAndWaitForDownloadAsync(() => page.ClickAsync("#reconcile button[type=submit]"));
        var csvPath = Path.Combine(shots, download.SuggestedFilename);
        await download.SaveAsAsync(csvPath);
        var csv = await File.ReadAllLinesAsync(csvPath);
        Assert.StartsWith("request_id,", csv[0], StringComparison.Ordinal);
        Assert.Contains(csv, line => line.StartsWith(payment.Id + ",", StringComparison.Ordinal) && line.Contains(",Confirmed,", StringComparison.Ordinal));

        // Neither the token, nor a password, nor the Authorization value is anywhere on the page.
        var html = await page.ContentAsync();
        var basic = Convert.ToBase64String(Encoding.UTF8.GetBytes($"{OpsUser}:{OpsPassword}"));
        Assert.All(new[] { Token, OpsPassword, PosPassword, basic, "Basic " }, secret => Assert.DoesNotContain(secret, html, StringComparison.Ordinal));
        // Nor in anything the page was sent, nor in the CSV.
        Assert.NotEmpty(responses);
        Assert.All(responses.Append(string.Join("\n", csv)), body => Assert.DoesNotContain(Token, body, StringComparison.Ordinal));
        Assert.Equal("", await page.InputValueAsync("#password"));
        foreach (var shot in Directory.GetFiles(shots, "*.png"))
        {
            Assert.True(new FileInfo(shot).Length > 10_000, $"{shot} looks empty");
        }
    }

    // A code, a pay the partner approves after its scan, a confirmation the partner refuses (Failed).
    private static async Task<PaymentRequest> ApprovedAndConfirmedWithFailedAdviceAsync(Uri serviceUrl, SimulatorClient control)
    {
        using var http = new HttpClient();
        var pos = new QrPaymentsClient(http, new Uri(serviceUrl, "qr/v1"), new NetworkCredential("pos-1", PosPassword));
        var client = new Institution { Id = "pos-1", Name = "Console Test Retailer" };
        var originator = new Originator
        {
            Institution = client,
            TerminalId = "T0000001",
            Merchant = new Merchant { MerchantType = "5411", MerchantId = "123456789012345", MerchantName = new MerchantName { Name = "Console Store", City = "Cape Town", Region = "WC", Country = "ZA" } },
        };
        var code = await pos.CreateQrCodeAsync(new CreateQrCodeRequest
        {
            Id = Guid.NewGuid().ToString(),
            Time = DateTimeOffset.UtcNow,
            Originator = originator,
            Client = client,
            QrProperties = new QrProperties { Value = new LedgerAmount { Amount = 12345, Currency = "710" }, SingleUse = true, Scheme = QrScheme.ElectrumMerchantMinimal },
        });
        Assert.Equal(HttpStatusCode.Created, code.Status);
        var request = new PaymentRequest
        {
            Id = Guid.NewGuid().ToString(),
            Time = DateTimeOffset.UtcNow,
            Originator = originator,
            Client = client,
            ThirdPartyIdentifiers = [],
            Amounts = new Amounts { RequestAmount = new LedgerAmount { Amount = 12345, Currency = "710" } },
            TranId = code.Body!.TranId,
        };
        var paying = pos.PayAsync(request);
        await WaitUntilAsync(async () => paying.IsCompleted || await control.ScanAsync(request.TranId!, Token) == 202);
        Assert.Equal(HttpStatusCode.Created, (await paying).Status);
        await control.SetAsync(new Behaviour { Action = SimAction.Decline, Status = 400, ErrorType = ErrorType.FormatError }, SimulatorState.Confirm);
        var confirmation = new PaymentConfirmation { Id = Guid.NewGuid().ToString(), RequestId = request.Id, Time = DateTimeOffset.UtcNow, ThirdPartyIdentifiers = [] };
        Assert.Equal(HttpStatusCode.Accepted, (await pos.ConfirmPaymentAsync(confirmation)).Status);
        using var ops = new HttpClient { BaseAddress = serviceUrl };
        ops.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{OpsUser}:{OpsPassword}")));
        await WaitUntilAsync(async () => (await ops.GetFromJsonAsync<List<System.Text.Json.JsonElement>>("/ops/outbox?state=Failed", QrJson.Options))!.Count == 1);
        return request;
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "gave up waiting");
            await Task.Delay(100);
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    // The service as the README runs it (Development, SQLite), on a real Kestrel port the browser can reach.
    private sealed class ConsoleService(string database, Uri partnerBaseUrl) : WebApplicationFactory<QrPaymentsOptions>
    {
        protected override void ConfigureWebHost(IWebHostBuilder builder)
        {
            builder.UseEnvironment("Development");
            builder.UseSetting("ConnectionStrings:QrPayments", $"Data Source={database}");
            builder.UseSetting("QrPayments:Database", "Sqlite");
            builder.UseSetting("QrPayments:Partners:0:BaseUrl", partnerBaseUrl.ToString());
        }

        public override async ValueTask DisposeAsync()
        {
            await base.DisposeAsync();
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            foreach (var file in new[] { database, database + "-wal", database + "-shm" })
            {
                File.Delete(file);
            }
        }
    }
}

/// <summary>Runs where Debian's chromium is installed, and always in CI (QR_REQUIRE_TOOLS=1), where a missing browser fails.</summary>
public sealed class ChromiumFactAttribute : FactAttribute
{
    public const string Chromium = "/usr/bin/chromium";

    public ChromiumFactAttribute()
    {
        if (!File.Exists(Chromium) && Environment.GetEnvironmentVariable("QR_REQUIRE_TOOLS") != "1")
        {
            Skip = "chromium not installed (apt-get install chromium)";
        }
    }
}

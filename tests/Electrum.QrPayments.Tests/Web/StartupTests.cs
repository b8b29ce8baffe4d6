using Electrum.QrPayments.Contracts.Client;
using Electrum.QrPayments.PartnerSimulator;

namespace Electrum.QrPayments.Tests.Web;

/// <summary>The service as operators start it: a real process, its own console output.</summary>
public class StartupTests
{
    [Theory]
    [Databases]
    public async Task Start_CleanStartAndOneLifecycle_LogsNoWarning(Db db)
    {
        await using var partner = await Partner.StartAsync();
        await using var database = TestDatabase.Create(db);
        await using var service = new ServiceProcess(database, partner, Loopback.FreePort(), new Dictionary<string, string>
        {
            ["Serilog__MinimumLevel"] = "Information",
            // Recovery runs its first pass at start-up and then again while we watch.
            ["QrPayments__SweepInterval"] = "00:00:00.200",
        });
        await service.StartAsync();
        using var http = new HttpClient();
        var pos = new QrPaymentsClient(http, service.BaseUrl, new NetworkCredential(QrService.Client, QrService.ClientPassword));
        var scanner = new QrPaymentsClient(http, service.BaseUrl, new NetworkCredential(QrService.Partner, QrService.PartnerPassword));

        var code = (await pos.CreateQrCodeAsync(Messages.CreateQrCode())).Body!;
        var request = Flow.PaymentFor(code.TranId!);
        var paying = pos.PayAsync(request);
        await Flow.UntilAsync(async () => paying.IsCompleted ||
            (await scanner.NotifyScanAsync(SimulatorApp.Scan(partner.Options, code.TranId!, "tok"))).Status == HttpStatusCode.Accepted, "the scan");
        Assert.Equal(HttpStatusCode.Created, (await paying).Status);
        Assert.Equal(HttpStatusCode.Accepted, (await pos.ConfirmPaymentAsync(Flow.ConfirmationOf(request.Id!))).Status);
        await Flow.UntilAsync(() => Task.FromResult(partner.State.ReceivedMessages.Any(r => r.Operation == SimulatorState.Confirm)), "the confirmation");
        await Flow.UntilAsync(() => Task.FromResult(service.Output.Count(l => l.Contains("Partner", StringComparison.Ordinal)) >= 2), "the partner calls to be logged");
        await Task.Delay(500); // a few more recovery passes

        var lines = service.Output.ToList();
        Assert.Contains(lines, l => l.Contains("\"Level\":\"Information\"", StringComparison.Ordinal));
        var noisy = lines.Where(l => !l.Contains("\"Level\":\"Information\"", StringComparison.Ordinal)).ToList();
        Assert.True(noisy.Count == 0, string.Join("\n", noisy));
    }
}

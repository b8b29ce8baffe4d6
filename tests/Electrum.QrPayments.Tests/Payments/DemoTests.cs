using Electrum.QrPayments.PartnerSimulator;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;

namespace Electrum.QrPayments.Tests.Payments;

public class DemoTests
{
    [Fact]
    public async Task Demo_AgainstRunningService_RunsWholeLifecycleAndExitsZero()
    {
        var partnerPort = Loopback.FreePort();
        await using var service = new QrService(TestDatabase.Create(Db.Sqlite), new Dictionary<string, string?>
        {
            ["QrPayments:Partners:0:BaseUrl"] = $"http://127.0.0.1:{partnerPort}/qr/v1",
        });
        service.UseKestrel(0);
        service.StartServer();
        var address = service.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        var options = new SimulatorOptions
        {
            Urls = $"http://127.0.0.1:{partnerPort}",
            PartnerId = QrService.Partner,
            ServicePassword = QrService.PartnerPassword,
            Username = QrService.PartnerUpstreamUser,
            Password = QrService.PartnerUpstreamPassword,
            ServiceBaseUrl = new Uri(address.TrimEnd('/') + "/qr/v1"),
        };
        using var output = new StringWriter();

        var exit = await Demo.RunAsync(options, QrService.Client, QrService.ClientPassword, output);

        var text = output.ToString();
        Assert.True(exit == 0, text);
        Assert.Contains("pay -> 201", text, StringComparison.Ordinal);
        Assert.Contains("the partner received the confirmation", text, StringComparison.Ordinal);
        Assert.Contains("█", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SimScans_WhileAPayIsHeld_SimulatorPostsTheScanAndThePayIsApproved()
    {
        await using var partner = await Partner.StartAsync();
        await using var service = new QrService(TestDatabase.Create(Db.Sqlite), partner: partner);
        service.UseKestrel(0);
        service.StartServer();
        var address = service.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        partner.Options.ServiceBaseUrl = new Uri(address.TrimEnd('/') + "/qr/v1");
        var pos = new Contracts.Client.QrPaymentsClient(new HttpClient(), partner.Options.ServiceBaseUrl,
            new NetworkCredential(QrService.Client, QrService.ClientPassword));
        var code = (await pos.CreateQrCodeAsync(Messages.CreateQrCode())).Body!;
        var paying = pos.PayAsync(Flow.PaymentFor(code.TranId!));

        var status = 0;
        for (var i = 0; i < 100 && status != 202; i++)
        {
            await Task.Delay(50);
            status = await partner.Control.ScanAsync(code.TranId!, "tok-sim");
        }

        Assert.Equal(202, status);
        Assert.Equal(HttpStatusCode.Created, (await paying).Status);
        Assert.Equal("tok-sim", Assert.Single(partner.Received<PaymentRequest>(SimulatorState.Pay)).PartnerPaymentToken);
    }
}

using Electrum.QrPayments.PartnerSimulator;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;

namespace Electrum.QrPayments.Tests.Infrastructure;

/// <summary>The partner simulator on a real Kestrel port on loopback.</summary>
public sealed class Partner : IAsyncDisposable
{
    private readonly WebApplication app;

    private Partner(WebApplication app, Uri root, SimulatorOptions options)
    {
        this.app = app;
        Root = root;
        Options = options;
        Control = new SimulatorClient(new HttpClient(), root, options);
    }

    public Uri Root { get; }
    public Uri BaseUrl => new(Root, "qr/v1");
    public SimulatorOptions Options { get; }
    public SimulatorClient Control { get; }
    public SimulatorState State => app.Services.GetRequiredService<SimulatorState>();

    /// <param name="partnerId">Who it is to the service (its scans' partner.id and Basic user name).</param>
    /// <param name="servicePassword">Its password at the service.</param>
    public static async Task<Partner> StartAsync(string partnerId = QrService.Partner, string servicePassword = QrService.PartnerPassword)
    {
        var options = new SimulatorOptions
        {
            Urls = "http://127.0.0.1:0",
            PartnerId = partnerId,
            PartnerName = "Test Wallet",
            Username = QrService.PartnerUpstreamUser,
            Password = QrService.PartnerUpstreamPassword,
            ServicePassword = servicePassword,
        };
        var app = SimulatorApp.Build(options);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        return new Partner(app, new Uri(address.TrimEnd('/') + "/"), options);
    }

    /// <summary>What the partner received for one operation, as typed messages.</summary>
    public List<T> Received<T>(string operation) =>
        [.. State.ReceivedMessages.Where(r => r.Operation == operation).Select(r => r.Body.Deserialize<T>(QrJson.Options)!)];

    public async ValueTask DisposeAsync()
    {
        await app.StopAsync();
        await app.DisposeAsync();
    }
}

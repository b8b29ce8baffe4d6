namespace Electrum.QrPayments.PartnerSimulator;

/// <summary>Who the simulated partner is, what it expects from the service, and how it reaches the service.</summary>
public sealed class SimulatorOptions
{
    /// <summary>Where it listens, e.g. http://127.0.0.1:9001 (port 0: any free port).</summary>
    public string Urls { get; set; } = "http://127.0.0.1:9001";

    public string PartnerId { get; set; } = "demo-partner";
    public string PartnerName { get; set; } = "Demo Wallet";

    /// <summary>The Basic credentials the service must send to call us (and to use /sim).</summary>
    public string Username { get; set; } = "electrum";
    public string Password { get; set; } = "electrum-secret";

    /// <summary>The service's base URL, for posting scans, e.g. http://localhost:5080/qr/v1.</summary>
    public Uri ServiceBaseUrl { get; set; } = new("http://localhost:5080/qr/v1");

    /// <summary>Our credentials at the service (user name = partner.id).</summary>
    public string ServicePassword { get; set; } = "demo-partner-secret";
}

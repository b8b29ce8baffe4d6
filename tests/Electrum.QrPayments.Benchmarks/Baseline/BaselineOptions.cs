using System.Globalization;

namespace Electrum.QrPayments.Benchmarks.Baseline;

/// <summary>How the baseline is started: where it listens, its database, and the partner it calls.</summary>
internal sealed class BaselineOptions
{
    public int Port { get; init; } = 5090;
    /// <summary>sqlite or postgres.</summary>
    public string Database { get; init; } = "sqlite";
    /// <summary>A SQLite file path, or a PostgreSQL connection string.</summary>
    public string Connection { get; init; } = "baseline.db";
    public Uri PartnerBaseUrl { get; init; } = new("http://127.0.0.1:9001/qr/v1");
    public TimeSpan ScanWait { get; init; } = TimeSpan.FromSeconds(30);
    public TimeSpan PartnerTimeout { get; init; } = TimeSpan.FromSeconds(25);
    /// <summary>How long a scan that overtook its pay waits for it, as the service does by default.</summary>
    public TimeSpan EarlyScanGrace { get; init; } = TimeSpan.FromSeconds(2);
    /// <summary>Connections to the partner at most; further calls queue (file descriptors are bounded).</summary>
    public int PartnerConnections { get; init; } = 256;
    /// <summary>Advices delivered at once.</summary>
    public int Deliverers { get; init; } = 16;

    // The same demo identities the service has in Development.
    public string ClientId { get; init; } = "pos-1";
    public string ClientSecret { get; init; } = "pos-1-secret";
    public string PartnerId { get; init; } = "demo-partner";
    public string PartnerSecret { get; init; } = "demo-partner-secret";
    public string PartnerUsername { get; init; } = "electrum";
    public string PartnerPassword { get; init; } = "electrum-secret";
    public string ProviderId { get; init; } = "za.co.elec";

    public static BaselineOptions Parse(Args args) => new()
    {
        Port = args.Int("--port", 5090),
        Database = args.Get("--db", "sqlite"),
        Connection = args.Get("--connection", "baseline.db"),
        PartnerBaseUrl = new Uri(args.Get("--partner", "http://127.0.0.1:9001/qr/v1")),
        ScanWait = TimeSpan.Parse(args.Get("--scan-wait", "00:00:30"), CultureInfo.InvariantCulture),
        PartnerConnections = args.Int("--partner-connections", 256),
    };
}

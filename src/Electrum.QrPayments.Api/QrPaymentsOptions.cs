namespace Electrum.QrPayments.Api;

/// <summary>The <c>QrPayments</c> configuration section: a public interface for operators, keep names stable.</summary>
public sealed class QrPaymentsOptions
{
    public const string Section = "QrPayments";

    /// <summary>Sqlite (default, a file) or Postgres; the connection string is ConnectionStrings:QrPayments.</summary>
    public DatabaseProvider Database { get; set; } = DatabaseProvider.Sqlite;

    /// <summary>Sub-tag 00 of the merchant-account template when a request names no qrProperties.uuid.</summary>
    public string ProviderId { get; set; } = "za.co.elec";

    /// <summary>The merchant-account template tag, "26" to "51".</summary>
    public string MerchantAccountTag { get; set; } = "26";

    /// <summary>
    /// ISO 4217 numeric currency for EMVCo tag 53 when a request names none: a static till code
    /// (no amount) is still a valid EMVCO_MERCHANT code.
    /// </summary>
    public string DefaultCurrency { get; set; } = "710";

    /// <summary>How long a pay is held waiting for its scan.</summary>
    public TimeSpan ScanWait { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long we wait for a partner's answer to a forwarded pay.</summary>
    public TimeSpan PartnerTimeout { get; set; } = TimeSpan.FromSeconds(25);

    /// <summary>How long a scan that arrives before its pay waits for it (0 = refuse at once).</summary>
    public TimeSpan EarlyScanGrace { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>How often recovery looks for payments a crashed instance left mid-flight.</summary>
    public TimeSpan SweepInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Largest request body accepted, in bytes; larger is 413.</summary>
    public long MaxRequestBodyBytes { get; set; } = 64 * 1024;

    public List<CredentialOptions> Clients { get; } = [];
    public List<PartnerOptions> Partners { get; } = [];
    public List<CredentialOptions> Operators { get; } = [];
}

public enum DatabaseProvider
{
    Sqlite,
    Postgres,
}

/// <summary>One caller allowed in: its user name and secret (a PBKDF2 hash, or plain in Development).</summary>
public class CredentialOptions
{
    public string Id { get; set; } = "";
    public string Secret { get; set; } = "";
}

/// <summary>A partner: how it authenticates to us, and where and how we call it.</summary>
public sealed class PartnerOptions : CredentialOptions
{
    /// <summary>The partner's base URL for pay/confirm/reverse, e.g. http://127.0.0.1:9001/qr/v1.</summary>
    public Uri? BaseUrl { get; set; }

    /// <summary>The user name we send to the partner.</summary>
    public string Username { get; set; } = "";

    /// <summary>The password we send to the partner.</summary>
    public string Password { get; set; } = "";
}

namespace Electrum.QrPayments.Benchmarks.Baseline;

/// <summary>What a confirmation or reversal found: the ids the advice to the partner refers to.</summary>
internal sealed record AdvisedPayment(string PartnerRequestId, string TranId, string PartnerId);

/// <summary>
/// The baseline's durable steps. Each method is one transaction and one commit, so a whole
/// lifecycle costs six: code, payment, scan, partner answer, confirmation with its advice row,
/// advice delivered.
/// </summary>
internal interface IBaselineStore : IAsyncDisposable
{
    Task InsertQrCodeAsync(string tranId, string messageId, string clientId, long? amount, string? currency, string payload, DateTimeOffset now);

    Task InsertPaymentAsync(string id, string tranId, string clientId, long? amount, string? currency, DateTimeOffset now);

    /// <summary>Records the scan on a payment still awaiting one; false when it is not.</summary>
    Task<bool> MarkScannedAsync(string id, string partnerId, string? token, string partnerRequestId, DateTimeOffset now);

    /// <summary>Ends a held payment: the partner's answer, or no scan in time.</summary>
    Task RecordOutcomeAsync(string id, string state, int partnerStatus, string? answer, DateTimeOffset now);

    /// <summary>
    /// Moves an approved payment of this client to <paramref name="state"/> and writes the advice row
    /// for the partner, in one transaction; null when there is no such approved payment.
    /// </summary>
    Task<AdvisedPayment?> AdviseAsync(string paymentId, string clientId, string state, string adviceId, string kind, DateTimeOffset now);

    Task MarkAdviceAsync(string adviceId, string state, DateTimeOffset now);
}

/// <summary>Payment and advice states as stored.</summary>
internal static class States
{
    public const string AwaitingScan = "AwaitingScan";
    public const string Scanned = "Scanned";
    public const string Approved = "Approved";
    public const string Declined = "Declined";
    public const string Unknown = "Unknown";
    public const string NoScan = "NoScan";
    public const string Confirmed = "Confirmed";
    public const string Reversed = "Reversed";
    public const string Pending = "Pending";
    public const string Delivered = "Delivered";
    public const string Failed = "Failed";
}

namespace Electrum.QrPayments.Api.Payments;

/// <summary>An accepted scan notification: which partner scanned which code, for which payment.</summary>
public sealed class Scan
{
    public Guid Id { get; init; }

    /// <summary>The notifyScan message id (unique: a reuse is DUPLICATE_RECORD).</summary>
    public required string MessageId { get; init; }
    public required string TranId { get; init; }
    public required string PartnerId { get; init; }
    public Guid PaymentId { get; init; }
    public DateTimeOffset ReceivedAt { get; init; }
}

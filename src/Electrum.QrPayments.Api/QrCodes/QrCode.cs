using Electrum.QrPayments.Contracts.Models;

namespace Electrum.QrPayments.Api.QrCodes;

/// <summary>An issued QR code: what it pays, for whom, and until when.</summary>
public sealed class QrCode
{
    public Guid Id { get; init; }

    /// <summary>32 lowercase hex characters, unique forever.</summary>
    public required string TranId { get; init; }

    /// <summary>The createQrCode message id (unique: a reuse is DUPLICATE_RECORD).</summary>
    public required string RequestId { get; init; }

    /// <summary>The POS client the code was issued to; only it may pay against the code.</summary>
    public required string ClientId { get; init; }

    public QrScheme Scheme { get; init; }
    public required string Payload { get; init; }

    /// <summary>The amount the code was issued for, in minor units, if any.</summary>
    public long? Amount { get; init; }
    public string? Currency { get; init; }
    public bool OverPaymentAllowed { get; init; }
    public bool PartPaymentAllowed { get; init; }
    public DateTimeOffset? ExpiresAt { get; init; }
    public bool SingleUse { get; init; }
    public DateTimeOffset CreatedAt { get; init; }

    public bool IsExpired(DateTimeOffset now) => ExpiresAt is { } expiry && expiry <= now;
}

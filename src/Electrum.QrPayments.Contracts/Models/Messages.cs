using System.Text.Json.Nodes;

namespace Electrum.QrPayments.Contracts.Models;

/// <summary>A merchant's request for a QR code to show a customer.</summary>
public sealed record CreateQrCodeRequest : IWireMessage
{
    public string? Id { get; init; }
    public DateTimeOffset? Time { get; init; }
    public Originator? Originator { get; init; }
    public Institution? Client { get; init; }
    public IReadOnlyList<ThirdPartyIdentifier?>? ThirdPartyIdentifiers { get; init; }
    public string? Rrn { get; init; }
    public string? Stan { get; init; }
    public Amounts? Amounts { get; init; }
    public Customer? Customer { get; init; }
    public QrProperties? QrProperties { get; init; }
}

/// <summary>The issued code: the request echoed with the tranId and the payload to encode.</summary>
public sealed record CreateQrCodeResponse
{
    public string? Id { get; init; }
    public DateTimeOffset? Time { get; init; }
    public Originator? Originator { get; init; }
    public Institution? Client { get; init; }
    public IReadOnlyList<ThirdPartyIdentifier?>? ThirdPartyIdentifiers { get; init; }
    public string? Rrn { get; init; }
    public string? Stan { get; init; }
    public Amounts? Amounts { get; init; }
    public Customer? Customer { get; init; }
    public QrProperties? QrProperties { get; init; }
    public string? TranId { get; init; }
    public string? QrCode { get; init; }
}

/// <summary>A partner's notice that its customer scanned a code.</summary>
public sealed record ScanNotification : IWireMessage
{
    public string? Id { get; init; }
    public DateTimeOffset? Time { get; init; }
    public Institution? Partner { get; init; }
    public Institution? SettlementEntity { get; init; }
    public Institution? Receiver { get; init; }
    public IReadOnlyList<ThirdPartyIdentifier?>? ThirdPartyIdentifiers { get; init; }
    public Amounts? Amounts { get; init; }
    public string? TranId { get; init; }
    public string? PartnerPaymentToken { get; init; }
}

/// <summary>A request to effect a payment against a QR code's tranId.</summary>
public sealed record PaymentRequest : IWireMessage
{
    public string? Id { get; init; }
    public DateTimeOffset? Time { get; init; }
    public Originator? Originator { get; init; }
    public Institution? Client { get; init; }
    public Institution? SettlementEntity { get; init; }
    public Institution? Receiver { get; init; }
    public IReadOnlyList<ThirdPartyIdentifier?>? ThirdPartyIdentifiers { get; init; }
    public SlipData? SlipData { get; init; }
    public string? BasketRef { get; init; }
    public TranType? TranType { get; init; }
    public AccountType? SrcAccType { get; init; }
    public AccountType? DestAccType { get; init; }
    public string? Stan { get; init; }
    public string? Rrn { get; init; }
    public Institution? Partner { get; init; }
    public Amounts? Amounts { get; init; }
    public string? TranId { get; init; }
    public string? PartnerPaymentToken { get; init; }
}

/// <summary>The response to a successful payment.</summary>
public sealed record PaymentResponse
{
    public string? Id { get; init; }
    public DateTimeOffset? Time { get; init; }
    public Originator? Originator { get; init; }
    public Institution? Client { get; init; }
    public Institution? SettlementEntity { get; init; }
    public Institution? Receiver { get; init; }
    public IReadOnlyList<ThirdPartyIdentifier?>? ThirdPartyIdentifiers { get; init; }
    public SlipData? SlipData { get; init; }
    public string? BasketRef { get; init; }
    public TranType? TranType { get; init; }
    public AccountType? SrcAccType { get; init; }
    public AccountType? DestAccType { get; init; }
    public string? Stan { get; init; }
    public string? Rrn { get; init; }
    public Institution? Partner { get; init; }
    public IReadOnlyList<Tender?>? Tenders { get; init; }
    public Amounts? Amounts { get; init; }
    public string? TranId { get; init; }
    public string? PartnerPaymentToken { get; init; }
}

/// <summary>Advice that a payment completed and may be settled; it cannot be reversed after.</summary>
public sealed record PaymentConfirmation : IWireMessage
{
    public string? Id { get; init; }
    public string? RequestId { get; init; }
    public DateTimeOffset? Time { get; init; }
    public IReadOnlyList<ThirdPartyIdentifier?>? ThirdPartyIdentifiers { get; init; }
    public string? Stan { get; init; }
    public string? Rrn { get; init; }
    public Amounts? Amounts { get; init; }
    public Institution? Partner { get; init; }
    public string? TranId { get; init; }
}

/// <summary>Advice that a payment is to be reversed (cancelled or timed out).</summary>
public sealed record PaymentReversal : IWireMessage
{
    public string? Id { get; init; }
    public string? RequestId { get; init; }
    public DateTimeOffset? Time { get; init; }
    public IReadOnlyList<ThirdPartyIdentifier?>? ThirdPartyIdentifiers { get; init; }
    public string? Stan { get; init; }
    public string? Rrn { get; init; }
    public Amounts? Amounts { get; init; }
    public ReversalReason? ReversalReason { get; init; }
    public Institution? Partner { get; init; }
    public string? TranId { get; init; }
}

/// <summary>Describes a failed outcome of an operation.</summary>
public sealed record ErrorDetail
{
    /// <summary>The id of the message that failed (a new UUID when it had none).</summary>
    public string? Id { get; init; }
    /// <summary>For a failed advice: the id of the request the advice relates to.</summary>
    public string? OriginalId { get; init; }
    public ErrorType? ErrorType { get; init; }
    /// <summary>Short, operator-readable; at most 40 characters.</summary>
    public string? ErrorMessage { get; init; }
    /// <summary>Free-form detail; for format errors it names the field.</summary>
    public JsonObject? DetailMessage { get; init; }
    public string? ProviderErrorCode { get; init; }
    public string? ProviderErrorMsg { get; init; }
    public string? ProviderRef { get; init; }
    public string? TranId { get; init; }
}

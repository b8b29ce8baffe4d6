namespace Electrum.QrPayments.Contracts.Models;

// Every property is nullable because anything may be missing on the wire; the validators in
// Validation/ decide what is required, so a missing field is a FORMAT_ERROR naming that field.

/// <summary>Originating, acquiring, processing, or receiving institution details.</summary>
public sealed record Institution
{
    public string? Id { get; init; }
    public string? Name { get; init; }
}

/// <summary>The originator of a request: institution, terminal and merchant.</summary>
public sealed record Originator
{
    public Institution? Institution { get; init; }
    public string? TerminalId { get; init; }
    public Merchant? Merchant { get; init; }
    public string? OperatorId { get; init; }
}

/// <summary>Merchant related data.</summary>
public sealed record Merchant
{
    /// <summary>Four digit merchant category code.</summary>
    public string? MerchantType { get; init; }
    /// <summary>Card acceptor id, 15 characters.</summary>
    public string? MerchantId { get; init; }
    public MerchantName? MerchantName { get; init; }
}

/// <summary>The merchant's name and location.</summary>
public sealed record MerchantName
{
    public string? Name { get; init; }
    public string? City { get; init; }
    public string? Region { get; init; }
    public string? Country { get; init; }
}

/// <summary>An amount in minor units with its ISO 4217 numeric currency.</summary>
public sealed record LedgerAmount
{
    /// <summary>Amount in minor denomination, e.g. R799.95 is 79995.</summary>
    public long? Amount { get; init; }
    /// <summary>ISO 4217 numeric currency, e.g. 710 for the South African Rand.</summary>
    public string? Currency { get; init; }
    public LedgerIndicator? LedgerIndicator { get; init; }
}

/// <summary>Amounts which make up a transaction; absent amounts have zero value.</summary>
public sealed record Amounts
{
    public LedgerAmount? RequestAmount { get; init; }
    public LedgerAmount? ApprovedAmount { get; init; }
    public LedgerAmount? FeeAmount { get; init; }
    public LedgerAmount? BalanceAmount { get; init; }
    public IReadOnlyDictionary<string, LedgerAmount?>? AdditionalAmounts { get; init; }
}

/// <summary>An identifier assigned to the transaction by one entity that processed it.</summary>
public sealed record ThirdPartyIdentifier
{
    public string? InstitutionId { get; init; }
    public string? TransactionIdentifier { get; init; }
}

/// <summary>Text to be printed on the customer's slip.</summary>
public sealed record SlipData
{
    public IReadOnlyList<SlipLine?>? MessageLines { get; init; }
    public int? SlipWidth { get; init; }
    public string? IssuerReference { get; init; }
}

/// <summary>One line of a till slip.</summary>
public sealed record SlipLine
{
    public Barcode? Barcode { get; init; }
    public string? Text { get; init; }
    public double? FontWidthScaleFactor { get; init; }
    public double? FontHeightScaleFactor { get; init; }
    public bool? Line { get; init; }
    public bool? Cut { get; init; }
}

/// <summary>Barcode information for a slip line.</summary>
public sealed record Barcode
{
    public string? Data { get; init; }
    public string? Encoding { get; init; }
}

/// <summary>A tender used towards a payment.</summary>
public sealed record Tender
{
    public TenderAccountType? AccountType { get; init; }
    public LedgerAmount? Amount { get; init; }
    /// <summary>A PCI compliant masked card number.</summary>
    public string? CardNumber { get; init; }
    public string? Reference { get; init; }
    public TenderType? TenderType { get; init; }
}

/// <summary>A customer who requests a transaction.</summary>
public sealed record Customer
{
    public string? FirstName { get; init; }
    public string? LastName { get; init; }
    public string? Address { get; init; }
    public DateTimeOffset? DateOfBirth { get; init; }
    public string? Status { get; init; }
    public string? Msisdn { get; init; }
    public string? EmailAddress { get; init; }
    public Address? AddressDetails { get; init; }
    public string? ProfileId { get; init; }
}

/// <summary>A customer's address.</summary>
public sealed record Address
{
    public string? AddressLine1 { get; init; }
    public string? AddressLine2 { get; init; }
    public string? City { get; init; }
    public string? Region { get; init; }
    public string? Country { get; init; }
    public string? PostalCode { get; init; }
}

/// <summary>How a QR code is intended to be used for transacting.</summary>
public sealed record QrProperties
{
    /// <summary>The provider id placed in sub-tag 00 of the merchant-account template.</summary>
    public string? Uuid { get; init; }
    /// <summary>The amount the code is issued for, if any.</summary>
    public LedgerAmount? Value { get; init; }
    public bool? OverPaymentAllowed { get; init; }
    public bool? PartPaymentAllowed { get; init; }
    /// <summary>When the code stops being usable (RFC 3339).</summary>
    public DateTimeOffset? ExpiryDate { get; init; }
    public bool? SingleUse { get; init; }
    /// <summary>Payload format; ELECTRUM_MERCHANT_MINIMAL when absent.</summary>
    public QrScheme? Scheme { get; init; }
}

using Electrum.QrPayments.Contracts.Models;

namespace Electrum.QrPayments.Api.Web;

/// <summary>One valid message per operation, shown in Swagger UI (and checked by a test).</summary>
public static class ExampleMessages
{
    public static readonly DateTimeOffset Time = new(2026, 11, 22, 10, 0, 0, TimeSpan.Zero);

    public static Originator Originator { get; } = new()
    {
        Institution = new Institution { Id = "pos-1", Name = "Example Retailer" },
        TerminalId = "T0000001",
        Merchant = new Merchant
        {
            MerchantType = "5411",
            MerchantId = "123456789012345",
            MerchantName = new MerchantName { Name = "Example Store", City = "Cape Town", Region = "WC", Country = "ZA" },
        },
    };

    public static Institution Client { get; } = new() { Id = "pos-1", Name = "Example Retailer" };

    public static CreateQrCodeRequest CreateQrCode { get; } = new()
    {
        Id = "7f1c8a3e-1b2d-4c5e-9f60-0a1b2c3d4e5f",
        Time = Time,
        Originator = Originator,
        Client = Client,
        QrProperties = new QrProperties
        {
            Value = new LedgerAmount { Amount = 10000, Currency = "710" },
            SingleUse = true,
            Scheme = QrScheme.ElectrumMerchantMinimal,
        },
    };

    private const string TranId = "f82d7f64feea4f2ab24da94aaf5c2941";
    private const string PaymentId = "3b9d5e2a-6c1f-4d8e-a7b0-1c2d3e4f5a6b";

    public static PaymentRequest Pay { get; } = new()
    {
        Id = PaymentId,
        Time = Time,
        Originator = Originator,
        Client = Client,
        ThirdPartyIdentifiers = [new ThirdPartyIdentifier { InstitutionId = "pos-1", TransactionIdentifier = "TILL-000123" }],
        TranType = TranType.GoodsAndServices,
        Amounts = new Amounts { RequestAmount = new LedgerAmount { Amount = 10000, Currency = "710" } },
        TranId = TranId,
    };

    public static ScanNotification Scan { get; } = new()
    {
        Id = "9c0e1f2a-3b4c-4d5e-8f60-718293a4b5c6",
        Time = Time,
        Partner = new Institution { Id = "demo-partner", Name = "Demo Wallet" },
        TranId = TranId,
        PartnerPaymentToken = "token-issued-by-the-partner",
    };

    public static PaymentConfirmation Confirmation { get; } = new()
    {
        Id = "5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9",
        RequestId = PaymentId,
        Time = Time,
        ThirdPartyIdentifiers = Pay.ThirdPartyIdentifiers,
    };

    public static PaymentReversal Reversal { get; } = new()
    {
        Id = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
        RequestId = PaymentId,
        Time = Time,
        ThirdPartyIdentifiers = Pay.ThirdPartyIdentifiers,
        ReversalReason = ReversalReason.Timeout,
    };

    /// <summary>The example for a request body type, or null.</summary>
    public static object? For(Type type) => type switch
    {
        _ when type == typeof(CreateQrCodeRequest) => CreateQrCode,
        _ when type == typeof(PaymentRequest) => Pay,
        _ when type == typeof(ScanNotification) => Scan,
        _ when type == typeof(PaymentConfirmation) => Confirmation,
        _ when type == typeof(PaymentReversal) => Reversal,
        _ => null,
    };
}

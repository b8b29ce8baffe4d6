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

    public static object? For(Type type) =>
        type == typeof(CreateQrCodeRequest) ? CreateQrCode : null;
}

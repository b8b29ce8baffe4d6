using Electrum.QrPayments.Contracts.Models;

namespace Electrum.QrPayments.Tests.Infrastructure;

/// <summary>Valid messages to start from; tests change only what they are about.</summary>
public static class Messages
{
    public static Originator Originator(string institution = QrService.Client) => new()
    {
        Institution = new Institution { Id = institution, Name = "Test Retailer" },
        TerminalId = "T0000001",
        Merchant = new Merchant
        {
            MerchantType = "5411",
            MerchantId = "123456789012345",
            MerchantName = new MerchantName { Name = "Test Store", City = "Cape Town", Region = "WC", Country = "ZA" },
        },
    };

    public static CreateQrCodeRequest CreateQrCode(string client = QrService.Client, QrProperties? properties = null) => new()
    {
        Id = Guid.NewGuid().ToString(),
        Time = DateTimeOffset.UtcNow,
        Originator = Originator(client),
        Client = new Institution { Id = client, Name = "Test Retailer" },
        QrProperties = properties ?? new QrProperties { Value = new LedgerAmount { Amount = 10000, Currency = "710" } },
    };
}

using Electrum.QrPayments.Contracts.Models;

namespace Electrum.QrPayments.Benchmarks.Load;

/// <summary>The POS's messages, as a till would send them.</summary>
internal static class Messages
{
    public static CreateQrCodeRequest CreateCode() => new()
    {
        Id = Guid.NewGuid().ToString(), Time = DateTimeOffset.UtcNow, Originator = Originator(), Client = Client(),
        QrProperties = new QrProperties { Value = new LedgerAmount { Amount = 1000, Currency = "710" } },
    };

    public static PaymentRequest Payment(string tranId) => new()
    {
        Id = Guid.NewGuid().ToString(), Time = DateTimeOffset.UtcNow, Originator = Originator(), Client = Client(), ThirdPartyIdentifiers = [],
        Amounts = new Amounts { RequestAmount = new LedgerAmount { Amount = 1000, Currency = "710" } }, TranId = tranId,
    };

    public static PaymentConfirmation Confirmation(string paymentId) => new()
    {
        Id = Guid.NewGuid().ToString(), RequestId = paymentId, Time = DateTimeOffset.UtcNow, ThirdPartyIdentifiers = [],
    };

    private static Institution Client() => new() { Id = "pos-1", Name = "Bench Retailer" };

    private static Originator Originator() => new()
    {
        Institution = Client(),
        TerminalId = "BENCH001",
        Merchant = new Merchant
        {
            MerchantType = "5411", MerchantId = "000000000000001",
            MerchantName = new MerchantName { Name = "Bench Store", City = "Cape Town", Region = "WC", Country = "ZA" },
        },
    };
}

using System.Net;
using Electrum.QrPayments.Contracts.Client;
using Electrum.QrPayments.Contracts.Models;
using QRCoder;

namespace Electrum.QrPayments.PartnerSimulator;

/// <summary>
/// One whole lifecycle against a running service, printed step by step: createQrCode, pay (held),
/// the partner's scan, the partner's approval, confirmPayment, and the confirmation arriving here.
/// </summary>
public static class Demo
{
    public static async Task<int> RunAsync(SimulatorOptions options, string client, string clientPassword, TextWriter output)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(output);
        await using var partner = SimulatorApp.Build(options);
        await partner.StartAsync();
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(90) };
        var pos = new QrPaymentsClient(http, options.ServiceBaseUrl, new NetworkCredential(client, clientPassword));
        var state = partner.Services.GetRequiredService<SimulatorState>();
        await output.WriteLineAsync($"Partner simulator '{options.PartnerId}' listening on {options.Urls}; service at {options.ServiceBaseUrl}");

        var code = await pos.CreateQrCodeAsync(new CreateQrCodeRequest
        {
            Id = Guid.NewGuid().ToString(),
            Time = DateTimeOffset.UtcNow,
            Originator = Originator(client),
            Client = new Institution { Id = client, Name = "Demo Retailer" },
            QrProperties = new QrProperties { Value = new LedgerAmount { Amount = 4999, Currency = "710" }, SingleUse = true },
        });
        if (code.Body is not { } qr)
        {
            return Fail(output, "createQrCode", code);
        }

        await output.WriteLineAsync($"1. createQrCode -> {(int)code.Status}: tranId {qr.TranId}\n   payload {qr.QrCode}");
        using (var generator = new QRCodeGenerator())
        using (var data = generator.CreateQrCode(qr.QrCode!, QRCodeGenerator.ECCLevel.L))
        {
            await output.WriteLineAsync(new AsciiQRCode(data).GetGraphicSmall());
        }

        var payment = new PaymentRequest
        {
            Id = Guid.NewGuid().ToString(),
            Time = DateTimeOffset.UtcNow,
            Originator = Originator(client),
            Client = new Institution { Id = client, Name = "Demo Retailer" },
            ThirdPartyIdentifiers = [new ThirdPartyIdentifier { InstitutionId = client, TransactionIdentifier = "DEMO-0001" }],
            Amounts = new Amounts { RequestAmount = new LedgerAmount { Amount = 4999, Currency = "710" } },
            TranId = qr.TranId,
        };
        await output.WriteLineAsync("2. pay sent; the service holds it until a partner scans the code");
        var paying = pos.PayAsync(payment);
        await Task.Delay(1000);

        var scanner = SimulatorApp.Scanner(http, options);
        var scan = await scanner.NotifyScanAsync(SimulatorApp.Scan(options, qr.TranId!, "demo-token-" + Guid.NewGuid().ToString("N")[..8]));
        await output.WriteLineAsync($"3. notifyScan by {options.PartnerId} -> {(int)scan.Status}");
        var paid = await paying;
        if (paid.Body is not { } approved)
        {
            return Fail(output, "pay", paid);
        }

        var forwarded = state.ReceivedMessages.First(r => r.Operation == SimulatorState.Pay);
        await output.WriteLineAsync($"4. the partner received pay {forwarded.Body.GetProperty("id").GetString()} (the service's own id) and approved it");
        await output.WriteLineAsync($"5. pay -> {(int)paid.Status}: approved {approved.Amounts?.ApprovedAmount?.Amount} by {approved.Partner?.Id}");

        var confirmation = new PaymentConfirmation
        {
            Id = Guid.NewGuid().ToString(),
            RequestId = payment.Id,
            Time = DateTimeOffset.UtcNow,
            ThirdPartyIdentifiers = approved.ThirdPartyIdentifiers,
        };
        var confirmed = await pos.ConfirmPaymentAsync(confirmation);
        await output.WriteLineAsync($"6. confirmPayment -> {(int)confirmed.Status}");
        for (var i = 0; i < 100 && !state.ReceivedMessages.Any(r => r.Operation == SimulatorState.Confirm); i++)
        {
            await Task.Delay(100);
        }

        var delivered = state.ReceivedMessages.Any(r => r.Operation == SimulatorState.Confirm);
        await output.WriteLineAsync(delivered
            ? "7. the partner received the confirmation (store-and-forward). Done."
            : "7. the confirmation has not reached the partner yet (it stays queued at the service)");
        await partner.StopAsync();
        return delivered ? 0 : 1;
    }

    private static Originator Originator(string client) => new()
    {
        Institution = new Institution { Id = client, Name = "Demo Retailer" },
        TerminalId = "DEMO0001",
        Merchant = new Merchant
        {
            MerchantType = "5411",
            MerchantId = "000000000000001",
            MerchantName = new MerchantName { Name = "Demo Store", City = "Cape Town", Region = "WC", Country = "ZA" },
        },
    };

    private static int Fail(TextWriter output, string step, QrResponse response)
    {
        output.WriteLine($"{step} failed: HTTP {(int)response.Status} {response.Error?.ErrorType} {response.Error?.ErrorMessage}");
        return 1;
    }
}

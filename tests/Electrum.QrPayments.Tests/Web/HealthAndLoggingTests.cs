using Electrum.QrPayments.Api.Web;

namespace Electrum.QrPayments.Tests.Web;

public class HealthAndLoggingTests
{
    [Theory]
    [Databases]
    public async Task HealthReady_MigratedDatabase_ReturnsHealthyWithoutCredentials(Db db)
    {
        await using var service = new QrService(TestDatabase.Create(db));
        using var http = service.CreateClient();

        var live = await http.GetAsync("/health/live");
        var ready = await http.GetAsync("/health/ready");

        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        Assert.Equal("Healthy", await ready.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task RequestLog_Call_HasOneLineWithMethodPathStatusAndMessageId()
    {
        await using var service = new QrService(TestDatabase.Create(Db.Sqlite));
        var request = Messages.CreateQrCode();

        await service.Api().CreateQrCodeAsync(request);

        var line = Assert.Single(service.Logs.Lines, l => l.Contains("RequestLoggingMiddleware", StringComparison.Ordinal));
        Assert.Contains("POST /qr/v1/qrCodes responded 201", line, StringComparison.Ordinal);
        Assert.Contains(request.Id!, line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Logs_CallsWithSecretsAndTokens_NeverContainThem()
    {
        await using var service = new QrService(TestDatabase.Create(Db.Sqlite));
        const string token = "tok-5f1e2d3c4b5a69788796a5b4c3d2e1f0";
        var request = Messages.CreateQrCode() with { Rrn = token };

        await service.Api().CreateQrCodeAsync(request);
        await service.Api(QrService.Client, "a-wrong-password-value").CreateQrCodeAsync(request);
        using var http = service.PosHttp();
        await http.PostAsync("/qr/v1/qrCodes", new StringContent("{\"partnerPaymentToken\":\"" + token + "\",", System.Text.Encoding.UTF8, "application/json"));

        Assert.NotEmpty(service.Logs.Lines);
        var encoded = new[] { QrService.Basic(QrService.Client, QrService.ClientPassword).Parameter!,
            QrService.Basic(QrService.Client, "a-wrong-password-value").Parameter! };
        foreach (var secret in new[] { QrService.ClientPassword, "a-wrong-password-value", token }.Concat(encoded))
        {
            Assert.DoesNotContain(service.Logs.Lines, l => l.Contains(secret, StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task Startup_PlainSecretOutsideDevelopment_Refuses()
    {
        await using var service = new QrService(TestDatabase.Create(Db.Sqlite),
            new Dictionary<string, string?> { ["QrPayments:Clients:0:Secret"] = "plain-text" });

        var error = Assert.ThrowsAny<Exception>(() => service.CreateClient().GetAsync("/health/live").GetAwaiter().GetResult());

        Assert.Contains("not a PBKDF2 hash", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void ExampleMessages_EachOperation_PassesItsOwnValidator()
    {
        Assert.True(new Contracts.Validation.CreateQrCodeRequestValidator().Validate(ExampleMessages.CreateQrCode).IsValid);
        Assert.True(new Contracts.Validation.PaymentRequestValidator().Validate(ExampleMessages.Pay).IsValid);
        Assert.True(new Contracts.Validation.ScanNotificationValidator().Validate(ExampleMessages.Scan).IsValid);
        Assert.True(new Contracts.Validation.PaymentConfirmationValidator().Validate(ExampleMessages.Confirmation).IsValid);
        Assert.True(new Contracts.Validation.PaymentReversalValidator().Validate(ExampleMessages.Reversal).IsValid);
    }

    [Fact]
    public async Task Swagger_EveryOperation_HasAnExampleBody()
    {
        await using var service = new QrService(TestDatabase.Create(Db.Sqlite));
        using var http = service.CreateClient();

        var document = JsonNode.Parse(await http.GetStringAsync("/swagger/v1/swagger.json"))!;

        foreach (var path in new[] { "/qr/v1/qrCodes", "/qr/v1/scans", "/qr/v1/payments", "/qr/v1/payments/confirmations", "/qr/v1/payments/reversals" })
        {
            var example = document["paths"]![path]!["post"]!["requestBody"]!["content"]!["application/json"]!["example"];
            Assert.True(example?["id"] is not null, $"{path} has no example body");
        }
    }
}

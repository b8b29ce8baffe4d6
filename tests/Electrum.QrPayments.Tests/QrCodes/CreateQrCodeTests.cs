using System.Text.RegularExpressions;
using Electrum.QrPayments.Contracts.Emv;
using Microsoft.EntityFrameworkCore;

namespace Electrum.QrPayments.Tests.QrCodes;

public partial class CreateQrCodeTests
{
    [GeneratedRegex("^[0-9a-f]{32}$")]
    private static partial Regex TranIdPattern();

    [Theory]
    [Databases]
    public async Task CreateQrCode_ValidRequest_Returns201WithTranIdAndPersistsCode(Db db)
    {
        await using var service = new QrService(TestDatabase.Create(db));
        var request = Messages.CreateQrCode();

        var response = await service.Api().CreateQrCodeAsync(request);

        Assert.Equal(HttpStatusCode.Created, response.Status);
        var body = response.Body!;
        Assert.Equal(request.Id, body.Id);
        Assert.Matches(TranIdPattern(), body.TranId);
        Assert.Equal(QrScheme.ElectrumMerchantMinimal, body.QrProperties!.Scheme);
        Assert.Equal(request.Originator, body.Originator);
        var template = EmvTlv.Decode(EmvTlv.Find(EmvTlv.Decode(body.QrCode!), "26")!);
        Assert.Equal("za.co.elec", EmvTlv.Find(template, "00"));
        Assert.Equal(body.TranId, EmvTlv.Find(template, "01"));
        var stored = await service.WithDbAsync(d => d.QrCodes.SingleAsync(c => c.TranId == body.TranId));
        Assert.Equal(QrService.Client, stored.ClientId);
        Assert.Equal(10000, stored.Amount);
        Assert.Equal(body.QrCode, stored.Payload);
    }

    [Theory]
    [Databases]
    public async Task CreateQrCode_EmvcoScheme_ReturnsPayloadWithValidCrcAndAmount(Db db)
    {
        await using var service = new QrService(TestDatabase.Create(db));
        var request = Messages.CreateQrCode(properties: new QrProperties
        {
            Value = new LedgerAmount { Amount = 79995, Currency = "710" },
            Scheme = QrScheme.EmvcoMerchant,
        });

        var response = await service.Api().CreateQrCodeAsync(request);

        Assert.Equal(HttpStatusCode.Created, response.Status);
        var fields = EmvTlv.Decode(response.Body!.QrCode!);
        Assert.True(EmvTlv.HasValidCrc(response.Body.QrCode!));
        Assert.Equal("12", EmvTlv.Find(fields, "01"));
        Assert.Equal("5411", EmvTlv.Find(fields, "52"));
        Assert.Equal("710", EmvTlv.Find(fields, "53"));
        Assert.Equal("799.95", EmvTlv.Find(fields, "54"));
        Assert.Equal("ZA", EmvTlv.Find(fields, "58"));
        Assert.Equal("Test Store", EmvTlv.Find(fields, "59"));
        Assert.Equal("Cape Town", EmvTlv.Find(fields, "60"));
    }

    [Fact]
    public async Task CreateQrCode_ProviderUuidAndConfiguredTag_AreUsedInTemplate()
    {
        await using var service = new QrService(TestDatabase.Create(Db.Sqlite),
            new Dictionary<string, string?> { ["QrPayments:MerchantAccountTag"] = "30" });
        var request = Messages.CreateQrCode(properties: new QrProperties { Uuid = "za.co.capitec" });

        var response = await service.Api().CreateQrCodeAsync(request);

        var template = EmvTlv.Decode(EmvTlv.Find(EmvTlv.Decode(response.Body!.QrCode!), "30")!);
        Assert.Equal("za.co.capitec", EmvTlv.Find(template, "00"));
    }

    [Theory]
    [Databases]
    public async Task CreateQrCode_ReusedMessageId_Returns400DuplicateRecord(Db db)
    {
        await using var service = new QrService(TestDatabase.Create(db));
        var request = Messages.CreateQrCode();
        Assert.Equal(HttpStatusCode.Created, (await service.Api().CreateQrCodeAsync(request)).Status);

        var again = await service.Api().CreateQrCodeAsync(request with { Time = DateTimeOffset.UtcNow });

        Assert.Equal(HttpStatusCode.BadRequest, again.Status);
        Assert.Equal(ErrorType.DuplicateRecord, again.Error!.ErrorType);
        Assert.Equal(request.Id, again.Error.Id);
        Assert.Equal(1, await service.CountQrCodesAsync());
    }

    [Theory]
    [Databases]
    public async Task CreateQrCode_SameIdConcurrently_ExactlyOneCreated(Db db)
    {
        await using var service = new QrService(TestDatabase.Create(db));
        var request = Messages.CreateQrCode();
        var api = service.Api();

        var responses = await Task.WhenAll(Enumerable.Range(0, 16).Select(_ => api.CreateQrCodeAsync(request)));

        Assert.Single(responses, r => r.Status == HttpStatusCode.Created);
        Assert.All(responses.Where(r => r.Status != HttpStatusCode.Created),
            r => Assert.Equal(ErrorType.DuplicateRecord, r.Error!.ErrorType));
        Assert.Equal(1, await service.CountQrCodesAsync());
    }

    [Fact]
    public async Task CreateQrCode_ExpiryInThePast_Returns400NamingExpiryDate()
    {
        await using var service = new QrService(TestDatabase.Create(Db.Sqlite));
        var request = Messages.CreateQrCode(properties: new QrProperties { ExpiryDate = DateTimeOffset.UtcNow.AddMinutes(-1) });

        var response = await service.Api().CreateQrCodeAsync(request);

        AssertFormatError(response, "qrProperties.expiryDate");
        Assert.Equal(0, await service.CountQrCodesAsync());
    }

    [Fact]
    public async Task CreateQrCode_FutureExpiry_IsStored()
    {
        await using var service = new QrService(TestDatabase.Create(Db.Sqlite));
        var expiry = new DateTimeOffset(2100, 1, 1, 12, 0, 0, TimeSpan.FromHours(2));
        var request = Messages.CreateQrCode(properties: new QrProperties { ExpiryDate = expiry, SingleUse = true });

        var response = await service.Api().CreateQrCodeAsync(request);

        var stored = await service.WithDbAsync(d => d.QrCodes.SingleAsync());
        Assert.Equal(expiry, stored.ExpiresAt);
        Assert.True(stored.SingleUse);
        Assert.Equal(expiry, response.Body!.QrProperties!.ExpiryDate);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-5)]
    public async Task CreateQrCode_NonPositiveValue_Returns400InvalidAmount(long amount)
    {
        await using var service = new QrService(TestDatabase.Create(Db.Sqlite));
        var request = Messages.CreateQrCode(properties: new QrProperties { Value = new LedgerAmount { Amount = amount, Currency = "710" } });

        var response = await service.Api().CreateQrCodeAsync(request);

        Assert.Equal(HttpStatusCode.BadRequest, response.Status);
        Assert.Equal(ErrorType.InvalidAmount, response.Error!.ErrorType);
        Assert.Equal(0, await service.CountQrCodesAsync());
    }

    [Theory]
    [InlineData(null, "710")]
    [InlineData("840", "840")]
    public async Task CreateQrCode_StaticEmvcoCodeWithoutValue_UsesDefaultCurrency(string? configured, string expected)
    {
        var settings = configured is null ? null : new Dictionary<string, string?> { ["QrPayments:DefaultCurrency"] = configured };
        await using var service = new QrService(TestDatabase.Create(Db.Sqlite), settings);
        var request = Messages.CreateQrCode(properties: new QrProperties { Scheme = QrScheme.EmvcoMerchant });

        var response = await service.Api().CreateQrCodeAsync(request);

        Assert.Equal(HttpStatusCode.Created, response.Status);
        var fields = EmvTlv.Decode(response.Body!.QrCode!).ToDictionary(f => f.Tag, f => f.Value);
        Assert.Equal("11", fields["01"]); // static: the customer enters the amount
        Assert.Equal(expected, fields["53"]);
        Assert.False(fields.ContainsKey("54"));
        Assert.True(EmvTlv.HasValidCrc(response.Body.QrCode!));
    }

    [Fact]
    public async Task Pay_StaticEmvcoCodeInAnotherCurrency_Returns400NamingCurrency()
    {
        await using var service = new QrService(TestDatabase.Create(Db.Sqlite));
        var code = await service.Api().CreateQrCodeAsync(Messages.CreateQrCode(properties: new QrProperties { Scheme = QrScheme.EmvcoMerchant }));

        var paid = await service.Api().PayAsync(Flow.PaymentFor(code.Body!.TranId!, currency: "840"));

        Assert.Equal(HttpStatusCode.BadRequest, paid.Status);
        Assert.Equal(ErrorType.InvalidAmount, paid.Error!.ErrorType);
        Assert.Contains("amounts.requestAmount.currency", paid.Error.DetailMessage!.ToJsonString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("ZAR")]
    [InlineData("71")]
    public void Start_DefaultCurrencyNotThreeDigits_Refuses(string configured)
    {
        var service = new QrService(TestDatabase.Create(Db.Sqlite), new Dictionary<string, string?> { ["QrPayments:DefaultCurrency"] = configured });

        var error = Assert.ThrowsAny<Exception>(() => service.Server);

        Assert.Contains("DefaultCurrency", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task CreateQrCode_EmvcoWithEmptyMerchantName_Returns400NamingIt()
    {
        await using var service = new QrService(TestDatabase.Create(Db.Sqlite));
        var request = Messages.CreateQrCode(properties: new QrProperties
        {
            Scheme = QrScheme.EmvcoMerchant,
            Value = new LedgerAmount { Amount = 100, Currency = "710" },
        });
        request = request with
        {
            Originator = request.Originator! with
            {
                Merchant = request.Originator.Merchant! with
                {
                    MerchantName = request.Originator.Merchant.MerchantName! with { Name = "" },
                },
            },
        };

        var response = await service.Api().CreateQrCodeAsync(request);

        AssertFormatError(response, "originator.merchant.merchantName.name");
    }

    [Fact]
    public async Task CreateQrCode_ProviderUuidTooLong_Returns400NamingUuidNotTruncated()
    {
        await using var service = new QrService(TestDatabase.Create(Db.Sqlite));
        var request = Messages.CreateQrCode(properties: new QrProperties { Uuid = new string('u', 70) });

        var response = await service.Api().CreateQrCodeAsync(request);

        AssertFormatError(response, "qrProperties.uuid");
        Assert.Equal(0, await service.CountQrCodesAsync());
    }

    internal static void AssertFormatError(Contracts.Client.QrResponse response, string field)
    {
        Assert.Equal(HttpStatusCode.BadRequest, response.Status);
        Assert.Equal(ErrorType.FormatError, response.Error!.ErrorType);
        Assert.Equal(field, response.Error.DetailMessage!["field"]!.GetValue<string>());
    }
}

using System.Net.Http.Headers;
using System.Text;

namespace Electrum.QrPayments.Tests.QrCodes;

/// <summary>Every malformed body gets 400 (or 413) with an ErrorDetail naming the field, and writes nothing.</summary>
public class CreateQrCodeBadInputTests
{
    private static JsonObject Valid() =>
        JsonSerializer.SerializeToNode(Messages.CreateQrCode(properties: new QrProperties
        {
            Value = new LedgerAmount { Amount = 100, Currency = "710" },
            Scheme = QrScheme.ElectrumMerchantMinimal,
        }), QrJson.Options)!.AsObject();

    // Each case: a name, how to spoil a valid body, and the field the error must name.
    private static readonly (string Name, Func<JsonObject, string> Spoil, string Field)[] Cases =
    [
        ("missing id", b => Without(b, "id"), "id"),
        ("id not a uuid", b => Set(b, "id", "not-a-uuid"), "id"),
        ("id a number", b => Set(b, "id", 42), "id"),
        ("id empty", b => Set(b, "id", ""), "id"),
        ("missing time", b => Without(b, "time"), "time"),
        ("time without offset", b => Set(b, "time", "2026-11-22T10:00:00"), "time"),
        ("time not a date", b => Set(b, "time", "yesterday"), "time"),
        ("time a number", b => Set(b, "time", 1732000000), "time"),
        ("missing client", b => Without(b, "client"), "client"),
        ("client a string", b => Set(b, "client", "pos-1"), "client"),
        ("client id missing", b => Without(b["client"]!, "id", b), "client.id"),
        ("client name missing", b => Without(b["client"]!, "name", b), "client.name"),
        ("client name too long", b => Set(b["client"]!, "name", new string('n', 41), b), "client.name"),
        ("missing originator", b => Without(b, "originator"), "originator"),
        ("originator an array", b => Set(b, "originator", new JsonArray()), "originator"),
        ("terminalId too short", b => Set(b["originator"]!, "terminalId", "T1", b), "originator.terminalId"),
        ("terminalId too long", b => Set(b["originator"]!, "terminalId", "T123456789", b), "originator.terminalId"),
        ("terminalId a number", b => Set(b["originator"]!, "terminalId", 12345678, b), "originator.terminalId"),
        ("operatorId too long", b => Set(b["originator"]!, "operatorId", new string('o', 31), b), "originator.operatorId"),
        ("originator institution missing", b => Without(b["originator"]!, "institution", b), "originator.institution"),
        ("merchant missing", b => Without(b["originator"]!, "merchant", b), "originator.merchant"),
        ("merchantType letters", b => Set(b["originator"]!["merchant"]!, "merchantType", "ABCD", b), "originator.merchant.merchantType"),
        ("merchantType five digits", b => Set(b["originator"]!["merchant"]!, "merchantType", "54111", b), "originator.merchant.merchantType"),
        ("merchantId 14 chars", b => Set(b["originator"]!["merchant"]!, "merchantId", "12345678901234", b), "originator.merchant.merchantId"),
        ("merchantName missing", b => Without(b["originator"]!["merchant"]!, "merchantName", b), "originator.merchant.merchantName"),
        ("merchant name too long", b => Set(b["originator"]!["merchant"]!["merchantName"]!, "name", new string('m', 24), b), "originator.merchant.merchantName.name"),
        ("merchant city too long", b => Set(b["originator"]!["merchant"]!["merchantName"]!, "city", new string('c', 14), b), "originator.merchant.merchantName.city"),
        ("merchant region too long", b => Set(b["originator"]!["merchant"]!["merchantName"]!, "region", "WCX", b), "originator.merchant.merchantName.region"),
        ("merchant country missing", b => Without(b["originator"]!["merchant"]!["merchantName"]!, "country", b), "originator.merchant.merchantName.country"),
        ("missing qrProperties", b => Without(b, "qrProperties"), "qrProperties"),
        ("unknown scheme", b => Set(b["qrProperties"]!, "scheme", "BOGUS", b), "qrProperties.scheme"),
        ("scheme as integer", b => Set(b["qrProperties"]!, "scheme", 1, b), "qrProperties.scheme"),
        ("scheme lowercase", b => Set(b["qrProperties"]!, "scheme", "emvco_merchant", b), "qrProperties.scheme"),
        ("value amount a string", b => Set(b["qrProperties"]!["value"]!, "amount", "100", b), "qrProperties.value.amount"),
        ("value amount a fraction", b => Set(b["qrProperties"]!["value"]!, "amount", 1.5, b), "qrProperties.value.amount"),
        ("value amount missing", b => Without(b["qrProperties"]!["value"]!, "amount", b), "qrProperties.value.amount"),
        ("value currency letters", b => Set(b["qrProperties"]!["value"]!, "currency", "ZAR", b), "qrProperties.value.currency"),
        ("value currency four digits", b => Set(b["qrProperties"]!["value"]!, "currency", "7100", b), "qrProperties.value.currency"),
        ("unknown ledgerIndicator", b => Set(b["qrProperties"]!["value"]!, "ledgerIndicator", "SIDEWAYS", b), "qrProperties.value.ledgerIndicator"),
        ("singleUse a string", b => Set(b["qrProperties"]!, "singleUse", "yes", b), "qrProperties.singleUse"),
        ("expiryDate malformed", b => Set(b["qrProperties"]!, "expiryDate", "2026-13-45T99:00:00Z", b), "qrProperties.expiryDate"),
        ("uuid empty", b => Set(b["qrProperties"]!, "uuid", "", b), "qrProperties.uuid"),
        ("thirdPartyIdentifiers an object", b => Set(b, "thirdPartyIdentifiers", new JsonObject()), "thirdPartyIdentifiers"),
        ("thirdPartyIdentifier missing institutionId", b => Set(b, "thirdPartyIdentifiers",
            new JsonArray(new JsonObject { ["transactionIdentifier"] = "t" })), "thirdPartyIdentifiers[0].institutionId"),
        ("thirdPartyIdentifier null item", b => Set(b, "thirdPartyIdentifiers", new JsonArray((JsonNode?)null)), "thirdPartyIdentifiers[0]"),
        ("customer msisdn letters", b => Set(b, "customer", new JsonObject { ["msisdn"] = "abc" }), "customer.msisdn"),
        ("customer email malformed", b => Set(b, "customer", new JsonObject { ["emailAddress"] = "no-at-sign" }), "customer.emailAddress"),
        ("customer firstName too long", b => Set(b, "customer", new JsonObject { ["firstName"] = new string('f', 41) }), "customer.firstName"),
        ("customer address country lowercase", b => Set(b, "customer",
            new JsonObject { ["addressDetails"] = new JsonObject { ["country"] = "za" } }), "customer.addressDetails.country"),
        ("amounts requestAmount currency bad", b => Set(b, "amounts",
            new JsonObject { ["requestAmount"] = new JsonObject { ["amount"] = 1, ["currency"] = "X" } }), "amounts.requestAmount.currency"),
    ];

    private static readonly (string Name, string Body, string Field)[] RawCases =
    [
        ("empty body", "", "body"),
        ("truncated json (named where reading stopped)", "{\"id\": ", "id"),
        ("unclosed object", "{", "body"),
        ("json array", "[]", "body"),
        ("json string", "\"hello\"", "body"),
        ("json null", "null", "body"),
        ("trailing comma", "{\"id\": \"x\",}", "body"),
        ("comment", "{/* c */}", "body"),
        ("not json", "id=1&time=now", "body"),
    ];

    public static TheoryData<string> CaseNames()
    {
        var data = new TheoryData<string>();
        foreach (var c in Cases)
        {
            data.Add(c.Name);
        }

        return data;
    }

    public static TheoryData<string> RawCaseNames()
    {
        var data = new TheoryData<string>();
        foreach (var c in RawCases)
        {
            data.Add(c.Name);
        }

        return data;
    }

    [Fact]
    public void Cases_AreAtLeastForty() => Assert.True(Cases.Length + RawCases.Length + 3 >= 40);

    [Theory]
    [MemberData(nameof(CaseNames))]
    public async Task CreateQrCode_MalformedField_Returns400NamingFieldAndWritesNothing(string name)
    {
        var (_, spoil, field) = Cases.Single(c => c.Name == name);
        await using var service = new QrService(TestDatabase.Create(Db.Sqlite));

        var response = await Post(service, spoil(Valid()));

        await AssertFormatError(response, field, HttpStatusCode.BadRequest);
        Assert.Equal(0, await service.CountQrCodesAsync());
    }

    [Theory]
    [MemberData(nameof(RawCaseNames))]
    public async Task CreateQrCode_MalformedJson_Returns400AndWritesNothing(string name)
    {
        var (_, body, field) = RawCases.Single(c => c.Name == name);
        await using var service = new QrService(TestDatabase.Create(Db.Sqlite));

        var response = await Post(service, body);

        await AssertFormatError(response, field, HttpStatusCode.BadRequest);
        Assert.Equal(0, await service.CountQrCodesAsync());
    }

    [Fact]
    public async Task CreateQrCode_HugeBody_Returns413ErrorDetail()
    {
        await using var service = new QrService(TestDatabase.Create(Db.Sqlite));
        var body = Valid();
        body["rrn"] = new string('r', 200_000);

        var response = await Post(service, body.ToJsonString());

        await AssertFormatError(response, "body", HttpStatusCode.RequestEntityTooLarge);
        Assert.Equal(0, await service.CountQrCodesAsync());
    }

    [Fact]
    public async Task CreateQrCode_HugeChunkedBody_Returns413ErrorDetail()
    {
        await using var service = new QrService(TestDatabase.Create(Db.Sqlite));
        using var http = service.PosHttp();
        var content = new StreamContent(new MemoryStream(Encoding.UTF8.GetBytes("{\"rrn\":\"" + new string('r', 200_000) + "\"}")));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        using var request = new HttpRequestMessage(HttpMethod.Post, "/qr/v1/qrCodes") { Content = content };
        request.Headers.TransferEncodingChunked = true;

        var response = await http.SendAsync(request);

        await AssertFormatError(response, "body", HttpStatusCode.RequestEntityTooLarge);
    }

    [Fact]
    public async Task CreateQrCode_WrongContentType_Returns415ErrorDetail()
    {
        await using var service = new QrService(TestDatabase.Create(Db.Sqlite));
        using var http = service.PosHttp();

        var response = await http.PostAsync("/qr/v1/qrCodes", new StringContent(Valid().ToJsonString(), Encoding.UTF8, "text/plain"));

        Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
        var error = await response.Content.ReadFromJsonAsync<ErrorDetail>(QrJson.Options);
        Assert.Equal(ErrorType.FormatError, error!.ErrorType);
    }

    [Fact]
    public async Task CreateQrCode_MalformedBodyWithId_ErrorCarriesTheMessageId()
    {
        await using var service = new QrService(TestDatabase.Create(Db.Sqlite));
        var body = Valid();
        body["time"] = "not a time";

        var response = await Post(service, body);

        var error = await response.Content.ReadFromJsonAsync<ErrorDetail>(QrJson.Options);
        Assert.Equal(body["id"]!.GetValue<string>(), error!.Id);
    }

    private static Task<HttpResponseMessage> Post(QrService service, string body)
    {
        var http = service.PosHttp();
        return http.PostAsync("/qr/v1/qrCodes", new StringContent(body, Encoding.UTF8, "application/json"));
    }

    private static Task<HttpResponseMessage> Post(QrService service, JsonNode body) => Post(service, body.ToJsonString());

    internal static async Task AssertFormatError(HttpResponseMessage response, string field, HttpStatusCode status)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(status == response.StatusCode, $"expected {status}, got {(int)response.StatusCode}: {text}");
        var error = JsonSerializer.Deserialize<ErrorDetail>(text, QrJson.Options)!;
        Assert.Equal(ErrorType.FormatError, error.ErrorType);
        Assert.False(string.IsNullOrEmpty(error.Id));
        var fields = error.DetailMessage!["errors"]!.AsArray().Select(e => e!["field"]!.GetValue<string>()).ToList();
        Assert.True(fields.Contains(field), $"expected field {field} in {string.Join(", ", fields)}");
        Assert.DoesNotContain("Exception", text, StringComparison.Ordinal);
        Assert.DoesNotContain("Electrum.QrPayments", text, StringComparison.Ordinal);
    }

    private static string Without(JsonObject body, string property)
    {
        body.Remove(property);
        return body.ToJsonString();
    }

    private static string Without(JsonNode parent, string property, JsonObject body)
    {
        parent.AsObject().Remove(property);
        return body.ToJsonString();
    }

    private static string Set(JsonObject body, string property, JsonNode? value)
    {
        body[property] = value;
        return body.ToJsonString();
    }

    private static string Set(JsonNode parent, string property, JsonNode? value, JsonObject body)
    {
        parent[property] = value;
        return body.ToJsonString();
    }
}

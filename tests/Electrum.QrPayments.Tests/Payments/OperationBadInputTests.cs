using System.Text;
using Electrum.QrPayments.PartnerSimulator;
using Microsoft.EntityFrameworkCore;

namespace Electrum.QrPayments.Tests.Payments;

/// <summary>
/// At least 30 malformed bodies for each of pay, notifyScan, confirmPayment and reversePayment:
/// each gets 400 FORMAT_ERROR naming the field, and no row anywhere changes.
/// </summary>
public class OperationBadInputTests : IAsyncLifetime
{
    private static readonly JsonNode Remove = JsonValue.Create("<remove>")!;

    // (path to change, new value or Remove, field the error must name)
    private static readonly (string Path, JsonNode? Value, string Field)[] Common =
    [
        ("id", Remove, "id"),
        ("id", "not-a-uuid", "id"),
        ("id", 12345, "id"),
        ("id", "", "id"),
        ("id", new JsonObject(), "id"),
        ("time", Remove, "time"),
        ("time", "2026-11-22 10:00:00", "time"),
        ("time", "2026-11-22T10:00:00", "time"),
        ("time", "2026-02-30T10:00:00Z", "time"),
        ("time", 1732000000, "time"),
        ("time", true, "time"),
        ("thirdPartyIdentifiers", "abc", "thirdPartyIdentifiers"),
        ("thirdPartyIdentifiers", new JsonArray((JsonNode?)null), "thirdPartyIdentifiers[0]"),
        ("thirdPartyIdentifiers", new JsonArray(new JsonObject { ["institutionId"] = "x" }), "thirdPartyIdentifiers[0].transactionIdentifier"),
        ("thirdPartyIdentifiers", new JsonArray(new JsonObject { ["transactionIdentifier"] = "x" }), "thirdPartyIdentifiers[0].institutionId"),
        ("amounts", "100", "amounts"),
        ("amounts.requestAmount", new JsonObject { ["amount"] = "ten", ["currency"] = "710" }, "amounts.requestAmount.amount"),
        ("amounts.requestAmount", new JsonObject { ["amount"] = 100, ["currency"] = "ZAR" }, "amounts.requestAmount.currency"),
        ("amounts.requestAmount", new JsonObject { ["amount"] = 100 }, "amounts.requestAmount.currency"),
        ("amounts.requestAmount", new JsonObject { ["currency"] = "710" }, "amounts.requestAmount.amount"),
        ("amounts.requestAmount", new JsonObject { ["amount"] = 1.25, ["currency"] = "710" }, "amounts.requestAmount.amount"),
        ("amounts.requestAmount", new JsonObject { ["amount"] = 99999999999999999999.0, ["currency"] = "710" }, "amounts.requestAmount.amount"),
        ("amounts.feeAmount", new JsonObject { ["amount"] = 1, ["currency"] = "710", ["ledgerIndicator"] = "UP" }, "amounts.feeAmount.ledgerIndicator"),
    ];

    private static readonly (string Path, JsonNode? Value, string Field)[] Pay =
    [
        ("tranId", Remove, "tranId"),
        ("tranId", "", "tranId"),
        ("tranId", 42, "tranId"),
        ("client", Remove, "client"),
        ("client.id", Remove, "client.id"),
        ("client.name", new string('n', 41), "client.name"),
        ("originator", Remove, "originator"),
        ("originator.terminalId", "short", "originator.terminalId"),
        ("originator.merchant.merchantId", "1", "originator.merchant.merchantId"),
        ("originator.merchant.merchantType", "54a1", "originator.merchant.merchantType"),
        ("originator.merchant.merchantName.city", new string('c', 14), "originator.merchant.merchantName.city"),
        ("amounts", Remove, "amounts"),
        ("amounts.requestAmount", Remove, "amounts.requestAmount"),
        ("tranType", "PURCHASE", "tranType"),
        ("srcAccType", "GIFTCARD", "srcAccType"),
        ("destAccType", 3, "destAccType"),
        ("tranType", "goods_and_services", "tranType"),
        ("tranType", "GoodsAndServices", "tranType"),
        ("slipData.issuerReference", "lower-case", "slipData.issuerReference"),
        ("slipData.messageLines", new JsonArray(new JsonObject { ["cut"] = true }), "slipData.messageLines[0].text"),
        ("slipData.slipWidth", "wide", "slipData.slipWidth"),
        ("partner", new JsonObject { ["name"] = "no id" }, "partner.id"),
        ("thirdPartyIdentifiers", Remove, "thirdPartyIdentifiers"),
    ];

    private static readonly (string Path, JsonNode? Value, string Field)[] Scan =
    [
        ("tranId", Remove, "tranId"),
        ("tranId", "", "tranId"),
        ("tranId", new JsonArray(), "tranId"),
        ("partner", Remove, "partner"),
        ("partner.id", Remove, "partner.id"),
        ("partner.name", Remove, "partner.name"),
        ("partner.name", new string('p', 41), "partner.name"),
        ("settlementEntity", new JsonObject { ["id"] = "s" }, "settlementEntity.name"),
        ("receiver", "bank", "receiver"),
        ("partnerPaymentToken", 123, "partnerPaymentToken"),
    ];

    private static readonly (string Path, JsonNode? Value, string Field)[] Advice =
    [
        ("requestId", Remove, "requestId"),
        ("requestId", "abc", "requestId"),
        ("requestId", 7, "requestId"),
        ("thirdPartyIdentifiers", Remove, "thirdPartyIdentifiers"),
        ("partner", new JsonObject { ["id"] = "p" }, "partner.name"),
        ("tranId", 5, "tranId"),
        ("stan", new JsonObject(), "stan"),
        ("rrn", false, "rrn"),
    ];

    private static readonly (string Path, JsonNode? Value, string Field)[] Reversal =
    [
        ("reversalReason", Remove, "reversalReason"),
        ("reversalReason", "BECAUSE", "reversalReason"),
        ("reversalReason", "timeout", "reversalReason"),
        ("reversalReason", 0, "reversalReason"),
    ];

    private static readonly string[] Raw = ["", "{", "[]", "null", "\"text\"", "{\"id\":}", "not json"];

    private static readonly Dictionary<string, (string Path, Func<JsonObject> Valid, (string Path, JsonNode? Value, string Field)[] Cases, bool AsPartner)> Operations = new()
    {
        ["pay"] = ("/qr/v1/payments", () => Node(Flow.PaymentFor(Guid.NewGuid().ToString("N"))), [.. Common, .. Pay], false),
        ["notifyScan"] = ("/qr/v1/scans", () => Node(SimulatorApp.Scan(new SimulatorOptions { PartnerId = QrService.Partner }, Guid.NewGuid().ToString("N"), "t")),
            [.. Common, .. Scan], true),
        ["confirmPayment"] = ("/qr/v1/payments/confirmations", () => Node(Flow.ConfirmationOf(Guid.NewGuid().ToString())), [.. Common, .. Advice], false),
        ["reversePayment"] = ("/qr/v1/payments/reversals", () => Node(Flow.ReversalOf(Guid.NewGuid().ToString())), [.. Common, .. Advice, .. Reversal], false),
    };

    private Flow flow = null!;

    public async Task InitializeAsync() => flow = await Flow.StartAsync(Db.Sqlite);

    public async Task DisposeAsync() => await flow.DisposeAsync();

    public static TheoryData<string> OperationNames() => new(Operations.Keys);

    [Theory]
    [MemberData(nameof(OperationNames))]
    public void Cases_EachOperation_HasAtLeastThirty(string operation) =>
        Assert.True(Operations[operation].Cases.Length + Raw.Length >= 30, $"{operation}: {Operations[operation].Cases.Length + Raw.Length}");

    [Theory]
    [MemberData(nameof(OperationNames))]
    public async Task Post_MalformedField_400NamingFieldAndNoStateChange(string operation)
    {
        var (path, valid, cases, asPartner) = Operations[operation];
        var code = await flow.CodeAsync();
        var before = await SnapshotAsync();
        var failures = new List<string>();

        foreach (var (field, value, expected) in cases)
        {
            var body = valid();
            if (body["tranId"] is not null)
            {
                body["tranId"] = code.TranId;
            }

            Set(body, field, value);
            var response = await PostAsync(path, body.ToJsonString(), asPartner);
            failures.AddRange(await CheckAsync(response, expected, $"{field}={value?.ToJsonString()}"));
        }

        foreach (var raw in Raw)
        {
            var response = await PostAsync(path, raw, asPartner);
            failures.AddRange(await CheckAsync(response, null, $"raw '{raw}'"));
        }

        Assert.True(failures.Count == 0, string.Join("\n", failures));
        Assert.Equal(before, await SnapshotAsync());
    }

    private async Task<HttpResponseMessage> PostAsync(string path, string body, bool asPartner)
    {
        using var http = asPartner ? flow.Service.CreateClient(QrService.Partner, QrService.PartnerPassword) : flow.Service.PosHttp();
        // A body that wrongly passed validation could be held: move the clock so it ends and is reported.
        return await flow.AdvanceUntilAsync(http.PostAsync(path, new StringContent(body, Encoding.UTF8, "application/json")), TimeSpan.FromSeconds(5));
    }

    private static async Task<List<string>> CheckAsync(HttpResponseMessage response, string? field, string what)
    {
        var text = await response.Content.ReadAsStringAsync();
        if (response.StatusCode != HttpStatusCode.BadRequest)
        {
            return [$"{what}: {(int)response.StatusCode} {text}"];
        }

        var error = JsonSerializer.Deserialize<ErrorDetail>(text, QrJson.Options)!;
        var fields = error.DetailMessage?["errors"]?.AsArray().Select(e => e!["field"]!.GetValue<string>()).ToList() ?? [];
        return error.ErrorType != ErrorType.FormatError ? [$"{what}: {error.ErrorType}"]
            : field is not null && !fields.Contains(field) ? [$"{what}: named {string.Join(",", fields)}, expected {field}"]
            : text.Contains("Exception", StringComparison.Ordinal) ? [$"{what}: leaks {text}"]
            : [];
    }

    private Task<string> SnapshotAsync() => flow.Service.WithDbAsync(async db =>
        $"payments {await db.Payments.CountAsync()}, transitions {await db.PaymentTransitions.CountAsync()}, scans {await db.Scans.CountAsync()}, " +
        $"advices {await db.Advices.CountAsync()}, outbox {await db.Outbox.CountAsync()}, codes {await db.QrCodes.CountAsync()}");

    private static JsonObject Node<T>(T message) => JsonSerializer.SerializeToNode(message, QrJson.Options)!.AsObject();

    // Sets (or removes) a dotted path, creating objects on the way.
    private static void Set(JsonObject body, string path, JsonNode? value)
    {
        var parts = path.Split('.');
        var parent = body;
        foreach (var part in parts[..^1])
        {
            parent = parent[part] as JsonObject ?? (JsonObject)(parent[part] = new JsonObject());
        }

        if (ReferenceEquals(value, Remove))
        {
            parent.Remove(parts[^1]);
        }
        else
        {
            parent[parts[^1]] = value?.DeepClone();
        }
    }
}

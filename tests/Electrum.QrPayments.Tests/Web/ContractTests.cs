namespace Electrum.QrPayments.Tests.Web;

/// <summary>
/// Compares the served OpenAPI document with the official interface (Fixtures/, the v1.7.0 swagger
/// converted to JSON): every path and method, operation id, documented status, and for every model
/// reachable from the five request bodies each property, required flag, type, enum value, pattern
/// and length. Patterns are served anchored (the interface writes "[0-9]{4}" meaning the whole value).
/// </summary>
public class ContractTests : IAsyncLifetime
{
    private const string BasePath = "/qr/v1";
    private static readonly JsonObject Official = JsonNode.Parse(
        File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Fixtures", "qr-payment-service-interface-1.7.0.json")))!.AsObject();

    // The interface models these as Java objects; on the wire they are RFC 3339 strings.
    private static readonly HashSet<string> DateTimeObjects = ["OffsetDateTime"];

    private QrService service = null!;
    private JsonObject served = null!;

    public async Task InitializeAsync()
    {
        service = new QrService(TestDatabase.Create(Db.Sqlite));
        using var http = service.CreateClient();
        served = JsonNode.Parse(await http.GetStringAsync("/swagger/v1/swagger.json"))!.AsObject();
    }

    public async Task DisposeAsync() => await service.DisposeAsync();

    public static TheoryData<string, string> Operations()
    {
        var data = new TheoryData<string, string>();
        foreach (var (path, methods) in Official["paths"]!.AsObject())
        {
            foreach (var (method, _) in methods!.AsObject())
            {
                data.Add(path, method);
            }
        }

        return data;
    }

    [Fact]
    public void Official_HasTheFiveOperations() => Assert.Equal(5, Operations().Count());

    [Theory]
    [MemberData(nameof(Operations))]
    public void ServedOperation_MatchesOfficialIdStatusesAndSecurity(string path, string method)
    {
        var official = Official["paths"]![path]![method]!;
        var operation = served["paths"]?[BasePath + path]?[method];

        Assert.True(operation is not null, $"{method.ToUpperInvariant()} {BasePath}{path} is not served");
        Assert.Equal(official["operationId"]!.GetValue<string>(), operation!["operationId"]!.GetValue<string>());
        foreach (var (status, _) in official["responses"]!.AsObject())
        {
            Assert.True(operation["responses"]![status] is not null, $"{official["operationId"]} does not document {status}");
        }

        Assert.Contains("basic", served["security"]!.AsArray().SelectMany(r => r!.AsObject().Select(p => p.Key)));
    }

    [Theory]
    [MemberData(nameof(Operations))]
    public void ServedRequestModel_MatchesOfficialConstraints(string path, string method)
    {
        var officialRef = Official["paths"]![path]![method]!["parameters"]![0]!["schema"]!["$ref"]!.GetValue<string>();
        var servedRef = served["paths"]?[BasePath + path]?[method]?["requestBody"]?["content"]?["application/json"]?["schema"]?["$ref"]?.GetValue<string>();
        Assert.True(servedRef is not null, $"{BasePath}{path} has no JSON request body schema");

        var problems = new List<string>();
        CompareModel(OfficialDefinition(officialRef), ServedSchema(servedRef!), officialRef.Split('/')[^1], problems, []);

        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    private void CompareModel(JsonNode official, JsonNode servedModel, string where, List<string> problems, HashSet<string> seen)
    {
        if (!seen.Add(where))
        {
            return;
        }

        var servedRequired = servedModel["required"]?.AsArray().Select(n => n!.GetValue<string>()).ToHashSet() ?? [];
        foreach (var required in official["required"]?.AsArray().Select(n => n!.GetValue<string>()) ?? [])
        {
            if (!servedRequired.Contains(required))
            {
                problems.Add($"{where}.{required}: required officially, not in served schema");
            }
        }

        foreach (var (name, officialProperty) in official["properties"]!.AsObject())
        {
            var property = servedModel["properties"]?[name];
            if (property is null)
            {
                problems.Add($"{where}.{name}: not served");
                continue;
            }

            CompareProperty(officialProperty!, property, $"{where}.{name}", problems, seen);
        }
    }

    private void CompareProperty(JsonNode official, JsonNode property, string where, List<string> problems, HashSet<string> seen)
    {
        if (official["$ref"] is { } officialRef)
        {
            var name = officialRef.GetValue<string>().Split('/')[^1];
            if (DateTimeObjects.Contains(name))
            {
                Expect(Resolve(property)["format"]?.GetValue<string>(), "date-time", $"{where} format", problems);
                return;
            }

            CompareModel(OfficialDefinition(officialRef.GetValue<string>()), Resolve(property), where, problems, seen);
            return;
        }

        var resolved = Resolve(property);
        var type = official["type"]!.GetValue<string>();
        Expect(resolved["type"]?.GetValue<string>(), type, $"{where} type", problems);
        if (type == "array" && official["items"]?["$ref"] is { } itemRef)
        {
            var items = resolved["items"];
            if (items is null)
            {
                problems.Add($"{where}: array without items");
                return;
            }

            CompareModel(OfficialDefinition(itemRef.GetValue<string>()), Resolve(items), where + "[]", problems, seen);
            return;
        }

        if (type == "object" && official["additionalProperties"]?["$ref"] is { } valueRef)
        {
            var values = resolved["additionalProperties"];
            if (values is null)
            {
                problems.Add($"{where}: map without value schema");
                return;
            }

            CompareModel(OfficialDefinition(valueRef.GetValue<string>()), Resolve(values), where + "{}", problems, seen);
            return;
        }

        if (official["enum"] is JsonArray officialEnum)
        {
            var expected = officialEnum.Select(n => n!.GetValue<string>()).Order().ToList();
            var actual = resolved["enum"]?.AsArray().Select(n => n!.GetValue<string>()).Order().ToList() ?? [];
            if (!expected.SequenceEqual(actual))
            {
                problems.Add($"{where}: enum [{string.Join(",", actual)}], officially [{string.Join(",", expected)}]");
            }
        }

        if (official["pattern"]?.GetValue<string>() is { } pattern)
        {
            Expect(resolved["pattern"]?.GetValue<string>(), "^" + pattern.TrimStart('^') + "$", $"{where} pattern", problems);
        }

        if (official["maxLength"] is { } max)
        {
            Expect(resolved["maxLength"]?.GetValue<int>().ToString(System.Globalization.CultureInfo.InvariantCulture),
                max.GetValue<int>().ToString(System.Globalization.CultureInfo.InvariantCulture), $"{where} maxLength", problems);
        }

        if (official["minLength"] is { } min && min.GetValue<int>() > 0)
        {
            Expect(resolved["minLength"]?.GetValue<int>().ToString(System.Globalization.CultureInfo.InvariantCulture),
                min.GetValue<int>().ToString(System.Globalization.CultureInfo.InvariantCulture), $"{where} minLength", problems);
        }

        if (official["format"]?.GetValue<string>() is { } format and not "int32" and not "double")
        {
            Expect(resolved["format"]?.GetValue<string>(), format, $"{where} format", problems);
        }
    }

    private static void Expect(string? actual, string expected, string what, List<string> problems)
    {
        if (actual != expected)
        {
            problems.Add($"{what}: served '{actual}', officially '{expected}'");
        }
    }

    private static JsonNode OfficialDefinition(string reference) => Official["definitions"]![reference.Split('/')[^1]]!;

    private JsonNode ServedSchema(string reference) => served["components"]!["schemas"]![reference.Split('/')[^1]]!;

    // A served property may be a $ref, or an allOf/oneOf wrapper around one.
    private JsonNode Resolve(JsonNode node) =>
        node["$ref"] is { } reference ? ServedSchema(reference.GetValue<string>()) :
        node["allOf"]?[0] is { } first ? Resolve(first) :
        node["oneOf"]?[0] is { } one ? Resolve(one) :
        node;
}

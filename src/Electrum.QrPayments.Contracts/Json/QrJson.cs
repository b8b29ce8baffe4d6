using System.Text.Json;
using System.Text.Json.Serialization;

namespace Electrum.QrPayments.Contracts.Json;

/// <summary>The serializer settings the interface's wire format needs.</summary>
public static class QrJson
{
    /// <summary>Shared, read-only options: camelCase, enums by name, RFC 3339 times, nulls omitted.</summary>
    public static JsonSerializerOptions Options { get; } = Create();

    /// <summary>Applies the wire settings to options owned by someone else (e.g. MVC's).</summary>
    public static void Configure(JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.PropertyNamingPolicy = JsonNamingPolicy.CamelCase;
        options.DictionaryKeyPolicy = null;
        options.PropertyNameCaseInsensitive = false;
        options.DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull;
        // Strings are not silently turned into numbers: "12" for an int64 is a format error.
        options.NumberHandling = JsonNumberHandling.Strict;
        options.AllowTrailingCommas = false;
        options.ReadCommentHandling = JsonCommentHandling.Disallow;
        options.MaxDepth = 32;
        options.Converters.Add(new WireEnumConverterFactory());
        options.Converters.Add(new Rfc3339DateTimeOffsetConverter());
    }

    private static JsonSerializerOptions Create()
    {
        var options = new JsonSerializerOptions(JsonSerializerDefaults.Web);
        Configure(options);
        options.MakeReadOnly(populateMissingResolver: true);
        return options;
    }
}

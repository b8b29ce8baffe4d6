using System.Net.Http.Headers;
using System.Text.Json;
using Electrum.QrPayments.Contracts.Json;

namespace Electrum.QrPayments.Contracts.Client;

/// <summary>Request bodies in the interface's JSON, always sent with Content-Length.</summary>
public static class JsonBody
{
    /// <summary>
    /// The value serialized up front. JsonContent streams its body chunked, without Content-Length,
    /// and some partners' gateways read a chunked request as an empty one.
    /// </summary>
    public static ByteArrayContent Create<T>(T value)
    {
        var content = new ByteArrayContent(JsonSerializer.SerializeToUtf8Bytes(value, QrJson.Options));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
        return content;
    }
}

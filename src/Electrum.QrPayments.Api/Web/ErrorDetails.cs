using System.Collections.Frozen;
using System.Text.Json;
using System.Text.Json.Nodes;
using Electrum.QrPayments.Contracts.Json;
using Electrum.QrPayments.Contracts.Models;

namespace Electrum.QrPayments.Api.Web;

/// <summary>
/// The one place an <see cref="ErrorDetail"/> response is built and written. Every failure, from
/// authentication to an unexpected exception, leaves the service through here.
/// </summary>
public static class ErrorDetails
{
    private const int MaxErrorMessage = 40;
    private const string MessageIdKey = "qr.messageId";
    private const string ErrorTypeKey = "qr.errorType";

    /// <summary>Remembers the id of the message being handled, for errors and the request log.</summary>
    public static void SetMessageId(HttpContext context, string? id)
    {
        if (!string.IsNullOrEmpty(id))
        {
            context.Items[MessageIdKey] = id;
        }
    }

    public static string? GetMessageId(HttpContext context) => context.Items[MessageIdKey] as string;

    /// <summary>The errorType of the ErrorDetail this call was answered with, as on the wire (for metrics).</summary>
    public static string? GetErrorType(HttpContext context) => context.Items[ErrorTypeKey] as string;

    public static JsonObject Reason(string reason) => new() { ["reason"] = reason };

    public static JsonObject FieldDetail(string field, string reason) => Fields([(field, reason)]);

    /// <summary>detailMessage for format errors: the first field, and every failure found.</summary>
    public static JsonObject Fields(IReadOnlyList<(string Field, string Reason)> failures)
    {
        var errors = new JsonArray();
        foreach (var (field, reason) in failures)
        {
            errors.Add(new JsonObject { ["field"] = field, ["reason"] = reason });
        }

        return new JsonObject { ["field"] = failures.Count > 0 ? failures[0].Field : "body", ["errors"] = errors };
    }

    /// <summary>An ErrorDetail for this call (noted on the call, so metrics count it by errorType).</summary>
    public static ErrorDetail Create(HttpContext context, ErrorType type, string message, JsonObject? detail,
        string? originalId = null, string? tranId = null)
    {
        ArgumentNullException.ThrowIfNull(context);
        context.Items[ErrorTypeKey] = WireName(type);
        return new()
        {
            // The failed message's id when we know it, so the caller can correlate; otherwise a new UUID.
            Id = GetMessageId(context) ?? Guid.NewGuid().ToString(),
            OriginalId = originalId,
            ErrorType = type,
            ErrorMessage = message.Length <= MaxErrorMessage ? message : message[..MaxErrorMessage],
            DetailMessage = detail,
            TranId = tranId,
        };
    }

    private static readonly FrozenDictionary<ErrorType, string> WireNames =
        Enum.GetValues<ErrorType>().ToFrozenDictionary(t => t, t => JsonSerializer.Serialize(t, QrJson.Options).Trim('"'));

    private static string WireName(ErrorType type) => WireNames.TryGetValue(type, out var name) ? name : type.ToString();

    public static Task WriteAsync(HttpContext context, int status, ErrorDetail error)
    {
        ArgumentNullException.ThrowIfNull(error);
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json; charset=utf-8";
        return JsonSerializer.SerializeAsync(context.Response.Body, error, QrJson.Options, context.RequestAborted);
    }

    public static Task WriteAsync(HttpContext context, int status, ErrorType type, string message, JsonObject? detail = null) =>
        WriteAsync(context, status, Create(context, type, message, detail));

    public static Task WriteAsync(HttpContext context, QrException exception) =>
        WriteAsync(context, exception.Status,
            Create(context, exception.ErrorType, exception.Message, exception.Detail, exception.OriginalId, exception.TranId));
}

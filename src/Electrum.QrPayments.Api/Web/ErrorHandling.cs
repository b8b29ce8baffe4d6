using System.Collections.Concurrent;
using System.Text.Json;
using Electrum.QrPayments.Contracts.Models;
using FluentValidation;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.Filters;
using Microsoft.AspNetCore.Mvc.ModelBinding;

namespace Electrum.QrPayments.Api.Web;

/// <summary>Turns every exception into an ErrorDetail; unexpected ones become a bare 500 (logged, never shown).</summary>
public sealed partial class QrExceptionHandler(ILogger<QrExceptionHandler> logger) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext context, Exception exception, CancellationToken cancellationToken)
    {
        switch (exception)
        {
            case QrException qr:
                await ErrorDetails.WriteAsync(context, qr);
                break;
            case RequestBodyTooLargeException or BadHttpRequestException { StatusCode: StatusCodes.Status413PayloadTooLarge }:
                await ErrorDetails.WriteAsync(context, StatusCodes.Status413PayloadTooLarge, ErrorType.FormatError,
                    "Request body too large", ErrorDetails.FieldDetail("body", "the request body is over the size limit"));
                break;
            case BadHttpRequestException bad:
                await ErrorDetails.WriteAsync(context, bad.StatusCode, ErrorType.FormatError, "Malformed HTTP request",
                    ErrorDetails.FieldDetail("body", "the request could not be read"));
                break;
            default:
                LogUnexpected(logger, exception.GetType().Name, ErrorDetails.GetMessageId(context) ?? "-", exception);
                await ErrorDetails.WriteAsync(context, StatusCodes.Status500InternalServerError, ErrorType.GeneralError,
                    "Internal error", ErrorDetails.Reason("the request could not be completed; its outcome is unknown"));
                break;
        }

        return true;
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Unexpected {ExceptionType} handling message {MessageId}")]
    private static partial void LogUnexpected(ILogger logger, string exceptionType, string messageId, Exception exception);
}

/// <summary>
/// MVC glue: bodies that are not valid JSON for the model (wrong type, unknown enum, bad date,
/// empty) and bodies that fail their FluentValidation validator both become 400 FORMAT_ERROR
/// naming the field; the message id is recorded for the error and the request log.
/// </summary>
public sealed class WireValidationFilter(IServiceProvider services) : IAsyncActionFilter
{
    // Validators are singletons (and so is this filter): each is looked up once, not per request.
    private readonly ConcurrentDictionary<Type, IValidator?> validators = new();

    private static IValidator? ValidatorFor(Type type, IServiceProvider services) =>
        services.GetService(typeof(IValidator<>).MakeGenericType(type)) as IValidator;

    public async Task OnActionExecutionAsync(ActionExecutingContext context, ActionExecutionDelegate next)
    {
        foreach (var argument in context.ActionArguments.Values)
        {
            if (argument is not IWireMessage message)
            {
                continue;
            }

            ErrorDetails.SetMessageId(context.HttpContext, message.Id);
            if (validators.GetOrAdd(argument.GetType(), ValidatorFor, services) is { } validator)
            {
                // The wire validators have no asynchronous rules: validated synchronously, each rule
                // runs without a state machine of its own (FluentValidation throws if one is ever added).
                var result = validator.Validate(new ValidationContext<object>(argument));
                if (!result.IsValid)
                {
                    throw new QrException(StatusCodes.Status400BadRequest, ErrorType.FormatError, "Invalid message format",
                        ErrorDetails.Fields([.. result.Errors.Select(e => (e.PropertyName, e.ErrorMessage))]));
                }
            }
        }

        await next();
    }

    /// <summary>For [ApiController]'s automatic 400: what the JSON reader refused, as FORMAT_ERROR.</summary>
    public static IActionResult InvalidModelState(ActionContext context)
    {
        var http = context.HttpContext;
        ErrorDetails.SetMessageId(http, TryReadMessageId(http));
        var failures = context.ModelState
            .Where(entry => entry.Value is { ValidationState: ModelValidationState.Invalid })
            .Select(entry => (Field: FieldName(entry.Key), Reason: Reason(entry.Value!)))
            .Distinct()
            .ToList();
        // When the reader names a field, MVC also reports the whole body as missing; keep the useful one.
        if (failures.Any(f => f.Field != "body"))
        {
            failures.RemoveAll(f => f.Field == "body");
        }

        var error = ErrorDetails.Create(http, ErrorType.FormatError, "Invalid message format", ErrorDetails.Fields([.. failures.Select(f => (f.Field, f.Reason))]));
        return new ObjectResult(error) { StatusCode = StatusCodes.Status400BadRequest };
    }

    // "$.originator.terminalId" -> "originator.terminalId"; the root or the parameter -> "body".
    private static string FieldName(string key) =>
        key.StartsWith("$.", StringComparison.Ordinal) ? key[2..] :
        key.StartsWith("$[", StringComparison.Ordinal) || key is "$" or "" or "request" or "body" ? "body" : key;

    // The reader's own messages name .NET types; say what is wrong in the interface's terms instead.
    private static string Reason(ModelStateEntry entry) =>
        entry.Errors.Any(e => e.Exception is null && e.ErrorMessage.Contains("required", StringComparison.OrdinalIgnoreCase))
            ? "a JSON body is required"
            : "not valid JSON for this field (wrong type, unknown enum value, bad date-time or malformed JSON)";

    private static string? TryReadMessageId(HttpContext http)
    {
        if (!http.Request.Body.CanSeek)
        {
            return null;
        }

        try
        {
            http.Request.Body.Position = 0;
            using var document = JsonDocument.Parse(http.Request.Body);
            return document.RootElement.ValueKind == JsonValueKind.Object &&
                   document.RootElement.TryGetProperty("id", out var id) && id.ValueKind == JsonValueKind.String
                ? id.GetString()
                : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}

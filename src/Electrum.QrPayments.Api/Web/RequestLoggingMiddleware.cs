using System.Diagnostics;
using Electrum.QrPayments.Api.Ops;
using Microsoft.AspNetCore.Routing;

namespace Electrum.QrPayments.Api.Web;

/// <summary>
/// One structured line per call: method, path, status, elapsed, message id. Bodies, headers and
/// query strings are never logged (they can hold credentials and payment tokens).
/// </summary>
public sealed partial class RequestLoggingMiddleware(RequestDelegate next, QrMetrics metrics, ILogger<RequestLoggingMiddleware> logger)
{
    public async Task InvokeAsync(HttpContext context)
    {
        var started = Stopwatch.GetTimestamp();
        var name = context.GetEndpoint()?.Metadata.GetMetadata<IRouteNameMetadata>()?.RouteName;
        // One span per operation, named by its operationId, under ASP.NET Core's request span.
        using var span = name is null ? null : QrTracing.Source.StartActivity(name, ActivityKind.Internal);
        try
        {
            await next(context);
        }
        finally
        {
            Log(logger, context.Request.Method, context.Request.Path.Value ?? "", context.Response.StatusCode,
                Stopwatch.GetElapsedTime(started).TotalMilliseconds, ErrorDetails.GetMessageId(context) ?? "-");
            // Counted by the operation's name (the route name, which is the interface's operationId).
            if (name is not null)
            {
                var errorType = ErrorDetails.GetErrorType(context);
                metrics.Operation(name, context.Response.StatusCode, errorType);
                // Tags only on a span that is recorded: without an exporter spans carry ids alone.
                if (span is { IsAllDataRequested: true })
                {
                    span.SetTag("qr.operation", name);
                    span.SetTag("http.response.status_code", context.Response.StatusCode);
                    span.SetTag("error.type", errorType);
                    if (context.Response.StatusCode >= 500)
                    {
                        QrTracing.Fail(span, errorType ?? "server error");
                    }
                }
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information,
        Message = "HTTP {Method} {Path} responded {StatusCode} in {ElapsedMs:0.0} ms (message {MessageId})")]
    private static partial void Log(ILogger logger, string method, string path, int statusCode, double elapsedMs, string messageId);
}

using System.Diagnostics;

namespace Electrum.QrPayments.Api.Web;

/// <summary>
/// One structured line per call: method, path, status, elapsed, message id. Bodies, headers and
/// query strings are never logged (they can hold credentials and payment tokens).
/// </summary>
public sealed partial class RequestLoggingMiddleware(RequestDelegate next, ILogger<RequestLoggingMiddleware> logger)
{
    public async Task InvokeAsync(HttpContext context)
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            await next(context);
        }
        finally
        {
            Log(logger, context.Request.Method, context.Request.Path.Value ?? "", context.Response.StatusCode,
                Stopwatch.GetElapsedTime(started).TotalMilliseconds, ErrorDetails.GetMessageId(context) ?? "-");
        }
    }

    [LoggerMessage(Level = LogLevel.Information,
        Message = "HTTP {Method} {Path} responded {StatusCode} in {ElapsedMs:0.0} ms (message {MessageId})")]
    private static partial void Log(ILogger logger, string method, string path, int statusCode, double elapsedMs, string messageId);
}

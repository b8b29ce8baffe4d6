using Electrum.QrPayments.Contracts.Models;
using Microsoft.Extensions.Options;

namespace Electrum.QrPayments.Api.Web;

/// <summary>
/// Enforces <see cref="QrPaymentsOptions.MaxRequestBodyBytes"/> whatever server hosts us: a declared
/// length over the limit is refused before reading, a chunked body is cut off once it passes it.
/// The body is buffered up front so a format error can still name the message id it carried.
/// </summary>
public sealed class RequestBodyLimitMiddleware(RequestDelegate next, IOptions<QrPaymentsOptions> options)
{
    private readonly long limit = options.Value.MaxRequestBodyBytes;

    public async Task InvokeAsync(HttpContext context)
    {
        if (context.Request.ContentLength > limit)
        {
            await ErrorDetails.WriteAsync(context, StatusCodes.Status413PayloadTooLarge, ErrorType.FormatError,
                "Request body too large", ErrorDetails.FieldDetail("body", $"at most {limit} bytes"));
            return;
        }

        if (context.Request.ContentLength is null)
        {
            context.Request.Body = new LengthLimitedStream(context.Request.Body, limit);
        }

        if (context.Request.ContentLength is > 0 || context.Request.Headers.TransferEncoding.Count > 0)
        {
            // Read the whole (bounded) body now, asynchronously, so later readers never block on the
            // socket, into a stream of its own size: a held pay keeps its body for up to ScanWait,
            // and a 64 KiB buffering page per held request was most of the memory of 10,000 held pays.
            // Sized by the declared length, but no more than 64 KiB before the bytes are actually there.
            var body = new MemoryStream(context.Request.ContentLength is { } length ? (int)Math.Min(length, 64 * 1024) : 4096);
            await context.Request.Body.CopyToAsync(body, context.RequestAborted);
            body.Position = 0;
            context.Request.Body = body;
            context.Response.RegisterForDispose(body);
        }

        await next(context);
    }
}

/// <summary>Raised when a body without a declared length grows past the limit.</summary>
public sealed class RequestBodyTooLargeException(long limit) : IOException($"request body exceeds {limit} bytes")
{
    public long Limit { get; } = limit;
}

internal sealed class LengthLimitedStream(Stream inner, long limit) : Stream
{
    private long read;

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => read; set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => Count(inner.Read(buffer, offset, count));

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        Count(await inner.ReadAsync(buffer, cancellationToken));

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    private int Count(int n)
    {
        read += n;
        return read > limit ? throw new RequestBodyTooLargeException(limit) : n;
    }

    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}

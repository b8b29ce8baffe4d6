using Electrum.QrPayments.Api;
using Electrum.QrPayments.Api.Web;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;

namespace Electrum.QrPayments.Tests.Web;

// The wire behaviour (413, cut-off chunked bodies, format errors naming the message id) is tested
// over HTTP elsewhere; this pins what a held request keeps of its body for up to ScanWait.
public class RequestBodyLimitMiddlewareTests
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Invoke_SmallBody_KeptAtItsOwnSizeAndReadableFromTheStart(bool declaredLength)
    {
        var bytes = new byte[1_000];
        Random.Shared.NextBytes(bytes);
        var context = new DefaultHttpContext();
        context.Request.Body = new MemoryStream(bytes);
        if (declaredLength)
        {
            context.Request.ContentLength = bytes.Length;
        }
        else
        {
            context.Request.Headers.TransferEncoding = "chunked";
        }

        byte[]? seen = null;
        long retained = 0;
        var middleware = new RequestBodyLimitMiddleware(async http =>
        {
            var body = Assert.IsType<MemoryStream>(http.Request.Body);
            retained = body.Capacity;
            using var copy = new MemoryStream();
            await body.CopyToAsync(copy);
            seen = copy.ToArray();
        }, Options.Create(new QrPaymentsOptions()));

        await middleware.InvokeAsync(context);

        Assert.Equal(bytes, seen);
        // Not the 64 KiB page a buffering stream would hold for each of thousands of held pays.
        Assert.True(retained <= (declaredLength ? bytes.Length : 4096), $"{retained} bytes kept for a {bytes.Length}-byte body");
    }
}

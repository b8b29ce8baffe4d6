using Electrum.QrPayments.Api.Persistence;
using Electrum.QrPayments.Api.Web;
using Microsoft.EntityFrameworkCore;
using QRCoder;

namespace Electrum.QrPayments.Api.QrCodes;

/// <summary>Renders an issued code as PNG or SVG for the client it was issued to.</summary>
public sealed class QrImageHandler(QrDbContext db)
{
    public const int PixelsPerModule = 10;

    public async Task<(byte[] Content, string ContentType)> HandleAsync(string clientId, string tranId, string? format, CancellationToken ct)
    {
        var kind = (format ?? "png").ToUpperInvariant() switch
        {
            "PNG" => "png",
            "SVG" => "svg",
            _ => throw QrException.Format("format", "must be png or svg"),
        };

        var payload = await db.QrCodes.AsNoTracking()
            .Where(c => c.TranId == tranId && c.ClientId == clientId)
            .Select(c => c.Payload)
            .SingleOrDefaultAsync(ct)
            ?? throw QrException.NotFound($"no QR code {tranId} issued to this client");

        using var generator = new QRCodeGenerator();
        using var data = generator.CreateQrCode(payload, QRCodeGenerator.ECCLevel.M);
        return kind == "png"
            ? (new PngByteQRCode(data).GetGraphic(PixelsPerModule), "image/png")
            : (System.Text.Encoding.UTF8.GetBytes(new SvgQRCode(data).GetGraphic(PixelsPerModule)), "image/svg+xml");
    }
}

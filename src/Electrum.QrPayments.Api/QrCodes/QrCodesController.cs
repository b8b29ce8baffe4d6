using Electrum.QrPayments.Api.Web;
using Electrum.QrPayments.Contracts.Models;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;

namespace Electrum.QrPayments.Api.QrCodes;

[ApiController]
[Route("qr/v1/qrCodes")]
[Authorize(Policy = Callers.ClientPolicy)]
[Produces("application/json")]
[Tags("QR codes")]
[ProducesResponseType<ErrorDetail>(StatusCodes.Status401Unauthorized)]
[ProducesResponseType<ErrorDetail>(StatusCodes.Status403Forbidden)]
[ProducesResponseType<ErrorDetail>(StatusCodes.Status500InternalServerError)]
public sealed class QrCodesController : ControllerBase
{
    /// <summary>Requests a QR code to display to a customer to be scanned.</summary>
    /// <remarks>
    /// Mints a 32-hex tranId and returns it with the payload to encode, in the scheme asked for
    /// (ELECTRUM_MERCHANT_MINIMAL by default). client.id must be the authenticated user name.
    /// </remarks>
    [HttpPost(Name = "createQrCode")]
    [Consumes("application/json")]
    [ProducesResponseType<CreateQrCodeResponse>(StatusCodes.Status201Created)]
    [ProducesResponseType<ErrorDetail>(StatusCodes.Status400BadRequest)]
    [ProducesResponseType<ErrorDetail>(StatusCodes.Status413PayloadTooLarge)]
    [ProducesResponseType<ErrorDetail>(StatusCodes.Status503ServiceUnavailable)]
    [ProducesResponseType<ErrorDetail>(StatusCodes.Status504GatewayTimeout)]
    public async Task<ActionResult<CreateQrCodeResponse>> CreateQrCode(
        [FromBody] CreateQrCodeRequest body, [FromServices] CreateQrCodeHandler handler, CancellationToken ct)
    {
        Callers.EnsureSpeaksFor(User, body.Client?.Id, "client.id");
        return StatusCode(StatusCodes.Status201Created, await handler.HandleAsync(body, ct));
    }

    /// <summary>Renders an issued QR code as an image (beyond the interface).</summary>
    /// <param name="tranId">The tranId returned by createQrCode.</param>
    /// <param name="format">png (default) or svg.</param>
    /// <param name="handler">Injected.</param>
    /// <param name="ct">Request abort.</param>
    [HttpGet("{tranId}/image", Name = "getQrCodeImage")]
    [Produces("image/png", "image/svg+xml", "application/json")]
    [ProducesResponseType<FileContentResult>(StatusCodes.Status200OK, "image/png", "image/svg+xml")]
    [ProducesResponseType<ErrorDetail>(StatusCodes.Status400BadRequest, "application/json")]
    [ProducesResponseType<ErrorDetail>(StatusCodes.Status404NotFound, "application/json")]
    public async Task<IActionResult> GetQrCodeImage(
        string tranId, [FromQuery] string? format, [FromServices] QrImageHandler handler, CancellationToken ct)
    {
        var (content, contentType) = await handler.HandleAsync(Callers.Name(User), tranId, format, ct);
        return File(content, contentType);
    }
}

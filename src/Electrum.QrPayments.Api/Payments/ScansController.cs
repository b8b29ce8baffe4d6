using Electrum.QrPayments.Api.Web;
using Electrum.QrPayments.Contracts.Models;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;

namespace Electrum.QrPayments.Api.Payments;

[ApiController]
[Route("qr/v1/scans")]
[Authorize(Policy = Callers.PartnerPolicy)]
[Produces("application/json")]
[Tags("Partners")]
public sealed class ScansController : ControllerBase
{
    /// <summary>Notify that a QR code has been scanned.</summary>
    /// <remarks>
    /// Releases the payment held for the tranId, to be forwarded to this partner. A scan that
    /// arrives before its payment waits up to EarlyScanGrace for it. partner.id must be the
    /// authenticated user name.
    /// </remarks>
    [HttpPost(Name = "notifyScan")]
    [Consumes("application/json")]
    [ProducesResponseType(StatusCodes.Status202Accepted)]
    [ProducesResponseType<ErrorDetail>(StatusCodes.Status400BadRequest)]
    [ProducesResponseType<ErrorDetail>(StatusCodes.Status401Unauthorized)]
    [ProducesResponseType<ErrorDetail>(StatusCodes.Status403Forbidden)]
    [ProducesResponseType<ErrorDetail>(StatusCodes.Status413PayloadTooLarge)]
    [ProducesResponseType<ErrorDetail>(StatusCodes.Status500InternalServerError)]
    [ProducesResponseType<ErrorDetail>(StatusCodes.Status503ServiceUnavailable)]
    [ProducesResponseType<ErrorDetail>(StatusCodes.Status504GatewayTimeout)]
    public async Task<IActionResult> NotifyScan([FromBody] ScanNotification body, [FromServices] ScanHandler handler)
    {
        Callers.EnsureSpeaksFor(User, body.Partner?.Id, "partner.id");
        await handler.HandleAsync(body);
        return StatusCode(StatusCodes.Status202Accepted);
    }
}

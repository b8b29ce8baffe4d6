using Electrum.QrPayments.Api.Advices;
using Electrum.QrPayments.Api.Web;
using Electrum.QrPayments.Contracts.Models;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;

namespace Electrum.QrPayments.Api.Payments;

[ApiController]
[Route("qr/v1/payments")]
[Authorize(Policy = Callers.ClientPolicy)]
[Produces("application/json")]
[Consumes("application/json")]
[Tags("Payments")]
[ProducesResponseType<ErrorDetail>(StatusCodes.Status401Unauthorized)]
[ProducesResponseType<ErrorDetail>(StatusCodes.Status403Forbidden)]
[ProducesResponseType<ErrorDetail>(StatusCodes.Status413PayloadTooLarge)]
[ProducesResponseType<ErrorDetail>(StatusCodes.Status500InternalServerError)]
[ProducesResponseType<ErrorDetail>(StatusCodes.Status503ServiceUnavailable)]
[ProducesResponseType<ErrorDetail>(StatusCodes.Status504GatewayTimeout)]
public sealed class PaymentsController : ControllerBase
{
    /// <summary>Requests a payment to be processed via a QR partner.</summary>
    /// <remarks>
    /// Send it with the tranId of a code from createQrCode before showing the code. The request is
    /// held until a partner posts the scan (at most ScanWait: then 400 NO_SCAN_RECEIVED), then
    /// forwarded to that partner (at most PartnerTimeout). 201: approved. 4xx: the partner declined
    /// (its status and error type). 504 UPSTREAM_UNAVAILABLE: the outcome is unknown; a timeout
    /// reversal has already been queued to the partner, and the POS should reverse as usual.
    /// </remarks>
    [HttpPost(Name = "pay")]
    [ProducesResponseType<PaymentResponse>(StatusCodes.Status201Created)]
    [ProducesResponseType<ErrorDetail>(StatusCodes.Status400BadRequest)]
    public async Task<ActionResult<PaymentResponse>> Pay([FromBody] PaymentRequest body, [FromServices] PayHandler handler)
    {
        Callers.EnsureSpeaksFor(User, body.Client?.Id, "client.id");
        return StatusCode(StatusCodes.Status201Created, await handler.HandleAsync(body));
    }

    /// <summary>Confirms completion of tender initiated by a payment request.</summary>
    /// <remarks>
    /// requestId is the id of the POS's PaymentRequest. 202 echoes the advice; the confirmation
    /// then reaches the partner by store-and-forward. A retry with the same id and body is answered
    /// the same way. 404: no such payment for this client. 400: the payment is reversed, declined
    /// or still pending.
    /// </remarks>
    [HttpPost("confirmations", Name = "confirmPayment")]
    [ProducesResponseType<PaymentConfirmation>(StatusCodes.Status202Accepted)]
    [ProducesResponseType<ErrorDetail>(StatusCodes.Status400BadRequest)]
    [ProducesResponseType<ErrorDetail>(StatusCodes.Status404NotFound)]
    public async Task<IActionResult> ConfirmPayment([FromBody] PaymentConfirmation body, [FromServices] AdviceHandler handler) =>
        Echo(await handler.ConfirmAsync(body, Callers.Name(User)));

    /// <summary>Reverses a payment request that failed or timed out.</summary>
    /// <remarks>
    /// requestId is the id of the POS's PaymentRequest. 202 echoes the advice; a reversal reaches
    /// the partner by store-and-forward if the partner was asked (at most one per payment). 404: no
    /// such payment (the id is remembered: a payment sent with it later is refused). 400
    /// ACCOUNT_ALREADY_SETTLED: the payment was confirmed.
    /// </remarks>
    [HttpPost("reversals", Name = "reversePayment")]
    [ProducesResponseType<PaymentReversal>(StatusCodes.Status202Accepted)]
    [ProducesResponseType<ErrorDetail>(StatusCodes.Status400BadRequest)]
    [ProducesResponseType<ErrorDetail>(StatusCodes.Status404NotFound)]
    public async Task<IActionResult> ReversePayment([FromBody] PaymentReversal body, [FromServices] AdviceHandler handler) =>
        Echo(await handler.ReverseAsync(body, Callers.Name(User)));

    private ContentResult Echo(AdviceAnswer answer) =>
        new() { StatusCode = answer.Status, Content = answer.EchoJson, ContentType = "application/json; charset=utf-8" };

}

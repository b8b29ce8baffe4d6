using Electrum.QrPayments.Api.Web;
using Electrum.QrPayments.Contracts.Models;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;

namespace Electrum.QrPayments.Api.Ops;

[ApiController]
[Route("ops/payments")]
[Authorize(Policy = Callers.OperatorPolicy)]
[Produces("application/json")]
[Tags("Operations")]
[ProducesResponseType<ErrorDetail>(StatusCodes.Status401Unauthorized)]
[ProducesResponseType<ErrorDetail>(StatusCodes.Status403Forbidden)]
public sealed class PaymentOpsController(PaymentLookup lookup) : ControllerBase
{
    /// <summary>Payments, newest first, filtered (filters combine with AND) and paged by cursor.</summary>
    /// <param name="requestId" example="3b9d5e2a-6c1f-4d8e-a7b0-1c2d3e4f5a6b">The POS's PaymentRequest id.</param>
    /// <param name="tranId" example="f82d7f64feea4f2ab24da94aaf5c2941">The QR code's tranId.</param>
    /// <param name="clientId" example="pos-1">The POS client.</param>
    /// <param name="partnerId" example="demo-partner">The partner that scanned the code.</param>
    /// <param name="state" example="Confirmed">AwaitingScan, Forwarded, Approved, Declined, NoScan, TimedOut, Confirmed or Reversed.</param>
    /// <param name="from" example="2026-12-01T00:00:00Z">Created at or after this RFC 3339 time.</param>
    /// <param name="to" example="2026-12-02T00:00:00Z">Created before this RFC 3339 time.</param>
    /// <param name="after">The <c>next</c> cursor of the previous page.</param>
    /// <param name="limit" example="50">Page size, 1 to 500 (default 50).</param>
    [HttpGet(Name = "listPayments")]
    [ProducesResponseType<PaymentPage>(StatusCodes.Status200OK)]
    [ProducesResponseType<ErrorDetail>(StatusCodes.Status400BadRequest)]
    public Task<PaymentPage> List(
        [FromQuery] string? requestId, [FromQuery] string? tranId, [FromQuery] string? clientId, [FromQuery] string? partnerId,
        [FromQuery] string? state, [FromQuery] string? from, [FromQuery] string? to, [FromQuery] string? after, [FromQuery] int? limit) =>
        lookup.ListAsync(PaymentFilter.Parse(requestId, tranId, clientId, partnerId, state, from, to, after, limit));

    /// <summary>One payment: its QR code, scan, audit trail, the advices received and the advices sent upstream.</summary>
    /// <param name="requestId" example="3b9d5e2a-6c1f-4d8e-a7b0-1c2d3e4f5a6b">The POS's PaymentRequest id.</param>
    [HttpGet("{requestId}", Name = "getPayment")]
    [ProducesResponseType<PaymentDetail>(StatusCodes.Status200OK)]
    [ProducesResponseType<ErrorDetail>(StatusCodes.Status404NotFound)]
    public async Task<PaymentDetail> Get(string requestId) =>
        await lookup.FindAsync(requestId) ?? throw QrException.NotFound($"no payment with request id {requestId}");
}

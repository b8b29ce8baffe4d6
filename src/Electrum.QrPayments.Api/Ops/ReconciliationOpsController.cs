using Electrum.QrPayments.Api.Web;
using Electrum.QrPayments.Contracts.Models;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Net.Http.Headers;

namespace Electrum.QrPayments.Api.Ops;

[ApiController]
[Route("ops/reconciliation")]
[Authorize(Policy = Callers.OperatorPolicy)]
[Tags("Operations")]
[ProducesResponseType<ErrorDetail>(StatusCodes.Status401Unauthorized, "application/json")]
[ProducesResponseType<ErrorDetail>(StatusCodes.Status403Forbidden, "application/json")]
public sealed class ReconciliationOpsController(Reconciliation reconciliation) : ControllerBase
{
    /// <summary>
    /// One day's payments with partners, by creation time: per partner and currency, the count and
    /// summed amount of confirmed, reversed, timed-out and declined payments, and the payments whose
    /// state at the partner is not yet certain. With <c>Accept: text/csv</c>, every payment of the
    /// day as one CSV row instead (RFC 4180, with a header row).
    /// </summary>
    /// <param name="date" example="2026-12-01">The day, YYYY-MM-DD.</param>
    /// <param name="partnerId" example="demo-partner">Only this partner's payments.</param>
    /// <param name="tz" example="Africa/Johannesburg">The day's time zone, an IANA name (default UTC).</param>
    [HttpGet(Name = "getReconciliation")]
    [ProducesResponseType<ReconciliationReport>(StatusCodes.Status200OK, "application/json", "text/csv")]
    [ProducesResponseType<ErrorDetail>(StatusCodes.Status400BadRequest, "application/json")]
    public async Task<IActionResult> Get([FromQuery] string? date, [FromQuery] string? partnerId, [FromQuery] string? tz)
    {
        var day = ReconciliationDay.Parse(date, tz, partnerId);
        if (!Request.GetTypedHeaders().Accept.Any(a => a.MediaType.Equals("text/csv", StringComparison.OrdinalIgnoreCase) && a.Quality is not 0))
        {
            return Ok(await reconciliation.ReportAsync(day));
        }

        Response.ContentType = "text/csv; charset=utf-8; header=present";
        Response.Headers.ContentDisposition = new ContentDispositionHeaderValue("attachment")
        {
            FileName = $"reconciliation-{day.Date}{(day.PartnerId is null ? "" : "-" + day.PartnerId)}.csv",
        }.ToString();
        await reconciliation.WriteCsvAsync(day, Response.Body, HttpContext.RequestAborted);
        return new EmptyResult();
    }
}

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
        if (!WantsCsv(Request.GetTypedHeaders().Accept))
        {
            return Ok(await reconciliation.ReportAsync(day));
        }

        Response.ContentType = "text/csv; charset=utf-8; header=present";
        // Only safe characters in the header: a partner id may hold anything a header must not.
        var partner = day.PartnerId is null ? "" : "-" + new string([.. day.PartnerId.Select(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-' ? c : '_')]);
        Response.Headers.ContentDisposition = new ContentDispositionHeaderValue("attachment")
        {
            FileName = $"reconciliation-{day.Date}{partner}.csv",
        }.ToString();
        await reconciliation.WriteCsvAsync(day, Response.Body, HttpContext.RequestAborted);
        return new EmptyResult();
    }

    // CSV when the caller prefers it to JSON (by q-value; on a tie, whichever it named first).
    private static bool WantsCsv(IList<MediaTypeHeaderValue> accept)
    {
        double Quality(Func<MediaTypeHeaderValue, bool> matches) =>
            accept.Where(matches).Select(a => a.Quality ?? 1).DefaultIfEmpty(-1).Max();
        int First(Func<MediaTypeHeaderValue, bool> matches) => accept.TakeWhile(a => !matches(a)).Count();
        static bool Csv(MediaTypeHeaderValue a) => a.MediaType.Equals("text/csv", StringComparison.OrdinalIgnoreCase);
        static bool Json(MediaTypeHeaderValue a) => a.MediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase)
            || a.MediaType.Equals("application/*", StringComparison.OrdinalIgnoreCase) || a.MediaType.Equals("*/*", StringComparison.OrdinalIgnoreCase);
        var csv = Quality(Csv);
        var json = Quality(Json);
        return csv > 0 && (csv > json || (csv == json && First(Csv) < First(Json)));
    }
}

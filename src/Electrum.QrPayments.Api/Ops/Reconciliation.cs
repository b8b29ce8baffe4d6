using System.Globalization;
using System.Text;
using Electrum.QrPayments.Api.Advices;
using Electrum.QrPayments.Api.Payments;
using Electrum.QrPayments.Api.Persistence;
using Electrum.QrPayments.Api.Web;
using Microsoft.EntityFrameworkCore;

namespace Electrum.QrPayments.Api.Ops;

/// <summary>How many payments ended one way, and their amounts summed (minor units, as on the wire).</summary>
public sealed record CountAndAmount(int Count, long Amount);

/// <summary>One partner's day in one currency.</summary>
public sealed record ReconciliationTotals(
    string PartnerId, string Currency, CountAndAmount Confirmed, CountAndAmount Reversed, CountAndAmount TimedOut, CountAndAmount Declined);

/// <summary>A payment whose state at the partner is not yet certain, and why.</summary>
public sealed record UncertainPayment(
    string RequestId, string? TranId, string PartnerId, string State, long Amount, string Currency, DateTimeOffset CreatedAt,
    string Reason, IReadOnlyList<OutboxItem> Advices);

/// <summary>
/// One day's payments with partners: totals per partner and currency, and what is not yet certain.
/// The day is [<see cref="From"/>, <see cref="To"/>) by the payments' creation time.
/// </summary>
public sealed record ReconciliationReport(
    string Date, string TimeZone, DateTimeOffset From, DateTimeOffset To, IReadOnlyList<ReconciliationTotals> Totals,
    int UncertainCount, IReadOnlyList<UncertainPayment> Uncertain);

/// <summary>The report's day and scope, parsed; every bad value is a 400 naming its parameter.</summary>
public sealed record ReconciliationDay(string Date, string TimeZone, DateTimeOffset From, DateTimeOffset To, string? PartnerId)
{
    public static ReconciliationDay Parse(string? date, string? tz, string? partnerId)
    {
        if (date is null || !DateOnly.TryParseExact(date, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var day)
            || day.Year is < 1970 or > 9998)
        {
            throw QrException.Format("date", "required, as YYYY-MM-DD (1970 to 9998)");
        }

        TimeZoneInfo zone;
        try
        {
            zone = tz is null ? TimeZoneInfo.Utc : TimeZoneInfo.FindSystemTimeZoneById(tz);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Not found, not valid, or a name that is a folder of the zone database (SecurityException).
            throw QrException.Format("tz", "not a known IANA time zone name, e.g. Africa/Johannesburg");
        }

        PaymentFilter.Text(partnerId, "partnerId");

        return new ReconciliationDay(day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), zone.Id,
            StartOf(day, zone), StartOf(day.AddDays(1), zone), partnerId);
    }

    // Local midnight as an instant. Where a clock change skips midnight the day starts when the
    // clock resumes; where midnight comes twice, at the first.
    private static DateTimeOffset StartOf(DateOnly day, TimeZoneInfo zone)
    {
        var local = day.ToDateTime(TimeOnly.MinValue, DateTimeKind.Unspecified);
        while (zone.IsInvalidTime(local))
        {
            local = local.AddMinutes(1);
        }

        var offset = zone.IsAmbiguousTime(local) ? zone.GetAmbiguousTimeOffsets(local).Max() : zone.GetUtcOffset(local);
        return new DateTimeOffset(DateTime.SpecifyKind(local - offset, DateTimeKind.Utc), TimeSpan.Zero);
    }
}

/// <summary>The daily reconciliation: totals summed by the database, the uncertain listed, the rows streamed as CSV.</summary>
public sealed class Reconciliation(QrDbContext db)
{
    /// <summary>At most this many uncertain payments in the JSON report; the CSV has every payment.</summary>
    public const int MaxUncertainListed = 1000;

    private static readonly PaymentState[] Settled = [PaymentState.Confirmed, PaymentState.Reversed, PaymentState.TimedOut, PaymentState.Declined];
    private static readonly PaymentState[] InFlight = [PaymentState.Forwarded, PaymentState.Approved];

    public async Task<ReconciliationReport> ReportAsync(ReconciliationDay day)
    {
        ArgumentNullException.ThrowIfNull(day);
        var groups = await Day(day)
            .Where(p => Settled.Contains(p.State))
            .GroupBy(p => new { p.PartnerId, p.Currency, p.State })
            .Select(g => new { g.Key.PartnerId, g.Key.Currency, g.Key.State, Count = g.Count(), Amount = g.Sum(p => p.Amount) })
            .ToListAsync();
        var totals = groups
            .GroupBy(g => (g.PartnerId!, g.Currency))
            .OrderBy(g => g.Key.Item1, StringComparer.Ordinal).ThenBy(g => g.Key.Currency, StringComparer.Ordinal)
            .Select(g =>
            {
                CountAndAmount Of(PaymentState state) => g.SingleOrDefault(x => x.State == state) is { } x ? new(x.Count, x.Amount) : new(0, 0);
                return new ReconciliationTotals(g.Key.Item1, g.Key.Currency,
                    Of(PaymentState.Confirmed), Of(PaymentState.Reversed), Of(PaymentState.TimedOut), Of(PaymentState.Declined));
            })
            .ToList();

        var uncertain = Uncertain(day);
        var count = await uncertain.CountAsync();
        var listed = await uncertain.OrderBy(p => p.CreatedAt).ThenBy(p => p.RequestId).Take(MaxUncertainListed)
            .Select(p => new { p.Id, p.RequestId, p.TranId, p.PartnerId, p.State, p.Amount, p.Currency, p.CreatedAt })
            .ToListAsync();
        var ids = listed.Select(p => p.Id).ToList();
        var advices = (await db.Outbox.AsNoTracking().Where(o => ids.Contains(o.PaymentId)).OrderBy(o => o.Id).ToListAsync())
            .ToLookup(o => o.PaymentId);
        return new ReconciliationReport(day.Date, day.TimeZone, day.From, day.To, totals, count,
            [.. listed.Select(p => new UncertainPayment(p.RequestId, p.TranId, p.PartnerId!, p.State.ToString(), p.Amount, p.Currency, p.CreatedAt,
                Reason(p.State, advices[p.Id]), [.. advices[p.Id].Select(OutboxItem.Of)]))]);
    }

    /// <summary>Every payment of the day with a partner, one CSV row each (RFC 4180: header, CRLF, quoted where needed).</summary>
    public async Task WriteCsvAsync(ReconciliationDay day, Stream body, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(day);
        await using var writer = new StreamWriter(body, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false), 16 * 1024, leaveOpen: true);
        await writer.WriteAsync("request_id,upstream_request_id,tran_id,client_id,partner_id,currency,amount,state,created_at,updated_at,advices\r\n");
        var rows = Day(day)
            .OrderBy(p => p.CreatedAt).ThenBy(p => p.RequestId)
            .Select(p => new
            {
                p.RequestId, p.UpstreamRequestId, p.TranId, p.ClientId, p.PartnerId, p.Currency, p.Amount, p.State, p.CreatedAt, p.UpdatedAt,
                Failed = db.Outbox.Any(o => o.PaymentId == p.Id && o.State == OutboxState.Failed),
                Pending = db.Outbox.Any(o => o.PaymentId == p.Id && o.State == OutboxState.Pending),
                Any = db.Outbox.Any(o => o.PaymentId == p.Id),
            })
            .AsAsyncEnumerable();
        var line = new StringBuilder(256);
        await foreach (var p in rows.WithCancellation(ct))
        {
            line.Clear();
            Field(line, p.RequestId).Append(',');
            Field(line, p.UpstreamRequestId).Append(',');
            Field(line, p.TranId).Append(',');
            Field(line, p.ClientId).Append(',');
            Field(line, p.PartnerId).Append(',');
            Field(line, p.Currency).Append(',');
            line.Append(p.Amount.ToString(CultureInfo.InvariantCulture)).Append(',');
            line.Append(p.State.ToString()).Append(',');
            line.Append(Utc(p.CreatedAt)).Append(',');
            line.Append(Utc(p.UpdatedAt)).Append(',');
            line.Append(p.Failed ? "failed" : p.Pending ? "pending" : p.Any ? "delivered" : "none").Append("\r\n");
            await writer.WriteAsync(line, ct);
        }

        await writer.FlushAsync(ct);
    }

    private IQueryable<Payment> Day(ReconciliationDay day)
    {
        var query = db.Payments.AsNoTracking().Where(p => p.CreatedAt >= day.From && p.CreatedAt < day.To && p.PartnerId != null);
        return day.PartnerId is { } partnerId ? query.Where(p => p.PartnerId == partnerId) : query;
    }

    // Not yet certain at the partner: still with it or with the POS, or an advice not yet delivered.
    private IQueryable<Payment> Uncertain(ReconciliationDay day) =>
        Day(day).Where(p => InFlight.Contains(p.State) || db.Outbox.Any(o => o.PaymentId == p.Id && o.State != OutboxState.Delivered));

    private static string Reason(PaymentState state, IEnumerable<OutboxMessage> advices) =>
        advices.Any(o => o.State == OutboxState.Failed) ? "an advice failed: the partner refused it; see the outbox"
        : advices.Any(o => o.State == OutboxState.Pending) ? "an advice is not yet delivered"
        : state == PaymentState.Forwarded ? "the partner has not answered yet"
        : "approved; the POS has not confirmed or reversed it yet";

    private static string Utc(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture);

    // RFC 4180: a field with a comma, quote or line break is quoted, its quotes doubled.
    internal static StringBuilder Field(StringBuilder line, string? value)
    {
        if (value is null)
        {
            return line;
        }

        return value.AsSpan().IndexOfAny(",\"\r\n") < 0
            ? line.Append(value)
            : line.Append('"').Append(value.Replace("\"", "\"\"", StringComparison.Ordinal)).Append('"');
    }
}

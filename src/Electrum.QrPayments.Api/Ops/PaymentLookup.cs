using System.Globalization;
using System.Linq.Expressions;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Electrum.QrPayments.Api.Advices;
using Electrum.QrPayments.Api.Payments;
using Electrum.QrPayments.Api.Persistence;
using Electrum.QrPayments.Api.Web;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.EntityFrameworkCore;

namespace Electrum.QrPayments.Api.Ops;

/// <summary>A payment as listed: who asked, for how much, where it is. Never its partnerPaymentToken.</summary>
public sealed record PaymentSummary(
    string RequestId, string? TranId, string ClientId, string? PartnerId, string State, long Amount, string Currency,
    DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt);

/// <summary>One page of payments, newest first; pass <see cref="Next"/> as <c>after</c> for the next page.</summary>
public sealed record PaymentPage(IReadOnlyList<PaymentSummary> Items, string? Next);

/// <summary>The QR code a payment was made against.</summary>
public sealed record QrCodeView(
    string TranId, string ClientId, string Scheme, long? Amount, string? Currency, bool SingleUse,
    DateTimeOffset CreatedAt, DateTimeOffset? ExpiresAt);

/// <summary>The partner's scan that matched the payment (its message id, who, when).</summary>
public sealed record ScanView(string MessageId, string PartnerId, string? PartnerName, DateTimeOffset ReceivedAt);

/// <summary>One row of the audit trail.</summary>
public sealed record TransitionView(string? From, string To, string Cause, DateTimeOffset At);

/// <summary>An advice the POS sent for the payment, and what it was answered.</summary>
public sealed record AdviceView(string Id, string Kind, DateTimeOffset ReceivedAt, int ResponseStatus, JsonNode? Response);

/// <summary>
/// Everything known about one payment, for "what happened to this payment?". The upstream request
/// id is the id the partner knows it by.
/// </summary>
public sealed record PaymentDetail(
    PaymentSummary Payment, string UpstreamRequestId, DateTimeOffset HoldUntil, bool ReversalRequested, QrCodeView? QrCode, ScanView? Scan,
    IReadOnlyList<TransitionView> Transitions, IReadOnlyList<AdviceView> Advices, IReadOnlyList<OutboxItem> Outbox);

/// <summary>The filters of the payment list, parsed; every bad value is a 400 naming its parameter.</summary>
public sealed partial record PaymentFilter(
    string? RequestId, string? TranId, string? ClientId, string? PartnerId, PaymentState? State,
    DateTimeOffset? From, DateTimeOffset? To, PaymentCursor? After, int Limit)
{
    public const int DefaultLimit = 50;
    public const int MaxLimit = 500;

    public static PaymentFilter Parse(
        string? requestId, string? tranId, string? clientId, string? partnerId, string? state,
        string? from, string? to, string? after, int? limit)
    {
        // One state's name exactly (any case): Enum.TryParse would also take numbers and "A,B" (their bits OR-ed).
        var parsedState = state is null ? (PaymentState?)null
            : Enum.GetNames<PaymentState>().SingleOrDefault(n => n.Equals(state, StringComparison.OrdinalIgnoreCase)) is { } name ? Enum.Parse<PaymentState>(name)
            : throw QrException.Format("state", "must be one of " + string.Join(", ", Enum.GetNames<PaymentState>()));
        var parsedFrom = Time(from, "from");
        var parsedTo = Time(to, "to");
        if (parsedFrom >= parsedTo)
        {
            throw QrException.Format("to", "must be later than from");
        }

        return new PaymentFilter(Text(requestId, "requestId"), Text(tranId, "tranId"), Text(clientId, "clientId"), Text(partnerId, "partnerId"),
            parsedState, parsedFrom, parsedTo, after is null ? null : PaymentCursor.Parse(after),
            limit is null ? DefaultLimit : limit is >= 1 and <= MaxLimit ? limit.Value : throw QrException.Format("limit", $"must be 1 to {MaxLimit}"));
    }

    /// <summary>An id-like text filter: 1 to 100 characters, none of them control characters (PostgreSQL refuses NUL).</summary>
    public static string? Text(string? value, string name) => value switch
    {
        null => null,
        { Length: 0 or > 100 } => throw QrException.Format(name, "must be 1 to 100 characters"),
        _ when value.Any(char.IsControl) => throw QrException.Format(name, "must not contain control characters"),
        _ => value,
    };

    // RFC 3339: a date, a time and an offset (Z or ±hh:mm); nothing looser, so no local-time guesses.
    private static DateTimeOffset? Time(string? value, string name) =>
        value is null ? null
        : Rfc3339().IsMatch(value) && DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.None, out var time) ? time
        : throw QrException.Format(name, "must be an RFC 3339 time, e.g. 2026-12-01T00:00:00Z");

    [GeneratedRegex(@"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$")]
    private static partial Regex Rfc3339();
}

/// <summary>Where a page ended: the last payment's creation time and request id (opaque to callers).</summary>
public sealed record PaymentCursor(DateTimeOffset CreatedAt, string RequestId)
{
    public string Encode() => WebEncoders.Base64UrlEncode(Encoding.UTF8.GetBytes(
        CreatedAt.UtcTicks.ToString(CultureInfo.InvariantCulture) + "|" + RequestId));

    public static PaymentCursor Parse(string value)
    {
        try
        {
            var text = Encoding.UTF8.GetString(WebEncoders.Base64UrlDecode(value));
            var bar = text.IndexOf('|', StringComparison.Ordinal);
            if (bar > 0 && long.TryParse(text.AsSpan(0, bar), NumberStyles.None, CultureInfo.InvariantCulture, out var ticks)
                && ticks <= DateTimeOffset.MaxValue.UtcTicks && bar < text.Length - 1 && !text.Skip(bar + 1).Any(char.IsControl))
            {
                return new PaymentCursor(new DateTimeOffset(ticks, TimeSpan.Zero), text[(bar + 1)..]);
            }
        }
        catch (FormatException)
        {
        }

        throw QrException.Format("after", "not a cursor this service returned as next");
    }
}

/// <summary>Read-only queries behind the ops payment endpoints.</summary>
public sealed class PaymentLookup(QrDbContext db)
{
    public async Task<PaymentPage> ListAsync(PaymentFilter filter)
    {
        ArgumentNullException.ThrowIfNull(filter);
        var query = db.Payments.AsNoTracking();
        if (filter.RequestId is { } requestId)
        {
            query = query.Where(p => p.RequestId == requestId);
        }

        if (filter.TranId is { } tranId)
        {
            query = query.Where(p => p.TranId == tranId);
        }

        if (filter.ClientId is { } clientId)
        {
            query = query.Where(p => p.ClientId == clientId);
        }

        if (filter.PartnerId is { } partnerId)
        {
            query = query.Where(p => p.PartnerId == partnerId);
        }

        if (filter.State is { } state)
        {
            query = query.Where(p => p.State == state);
        }

        if (filter.From is { } from)
        {
            query = query.Where(p => p.CreatedAt >= from);
        }

        if (filter.To is { } to)
        {
            query = query.Where(p => p.CreatedAt < to);
        }

        if (filter.After is { } after)
        {
            // Keyset: strictly after the last row shown, in the list's own order (ties broken by request id).
            // The leading bound lets the index seek to the cursor instead of scanning from the newest row.
            query = query.Where(p => p.CreatedAt <= after.CreatedAt
                && (p.CreatedAt < after.CreatedAt || string.Compare(p.RequestId, after.RequestId) < 0));
        }

        // The columns shown only (EF reads just those): not the stored messages, not the partner's token.
        var rows = await query.OrderByDescending(p => p.CreatedAt).ThenByDescending(p => p.RequestId)
            .Select(SummaryOf).Take(filter.Limit + 1).ToListAsync();
        var items = rows.Take(filter.Limit).ToList();
        var next = rows.Count > filter.Limit ? new PaymentCursor(items[^1].CreatedAt, items[^1].RequestId).Encode() : null;
        return new PaymentPage(items, next);
    }

    public async Task<PaymentDetail?> FindAsync(string requestId)
    {
        ArgumentNullException.ThrowIfNull(requestId);
        // No payment's id has control characters, and PostgreSQL would refuse a NUL in the query.
        if (requestId.Any(char.IsControl))
        {
            return null;
        }

        var payment = await db.Payments.AsNoTracking().Include(p => p.Transitions).SingleOrDefaultAsync(p => p.RequestId == requestId);
        if (payment is null)
        {
            return null;
        }

        var code = payment.TranId is null ? null : await db.QrCodes.AsNoTracking().SingleOrDefaultAsync(c => c.TranId == payment.TranId);
        var scan = await db.Scans.AsNoTracking().SingleOrDefaultAsync(s => s.PaymentId == payment.Id);
        var advices = await db.Advices.AsNoTracking().Where(a => a.RequestId == requestId && a.ClientId == payment.ClientId).ToListAsync();
        var outbox = await db.Outbox.AsNoTracking().Where(o => o.PaymentId == payment.Id).OrderBy(o => o.Id).ToListAsync();
        return new PaymentDetail(
            Summary(payment), payment.UpstreamRequestId, payment.HoldUntil, payment.ReversalRequested,
            code is null ? null : new QrCodeView(code.TranId, code.ClientId, code.Scheme.ToString(), code.Amount, code.Currency, code.SingleUse, code.CreatedAt, code.ExpiresAt),
            scan is null ? null : new ScanView(scan.MessageId, scan.PartnerId, payment.PartnerName, scan.ReceivedAt),
            [.. payment.Transitions.OrderBy(t => t.Id).Select(t => new TransitionView(t.From?.ToString(), t.To.ToString(), t.Cause.ToString(), t.At))],
            [.. advices.OrderBy(a => a.ReceivedAt).Select(a => new AdviceView(a.Id, a.Kind.ToString(), a.ReceivedAt, a.ResponseStatus,
                a.ResponseJson is null ? null : JsonNode.Parse(a.ResponseJson)))],
            [.. outbox.Select(OutboxItem.Of)]);
    }

    // One definition for both: as an expression, so the list's query reads only these columns.
    private static readonly Expression<Func<Payment, PaymentSummary>> SummaryOf = p =>
        new PaymentSummary(p.RequestId, p.TranId, p.ClientId, p.PartnerId, p.State.ToString(), p.Amount, p.Currency, p.CreatedAt, p.UpdatedAt);

    private static readonly Func<Payment, PaymentSummary> Summary = SummaryOf.Compile();
}

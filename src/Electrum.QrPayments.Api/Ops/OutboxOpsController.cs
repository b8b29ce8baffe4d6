using Electrum.QrPayments.Api.Advices;
using Electrum.QrPayments.Api.Persistence;
using Electrum.QrPayments.Api.Web;
using Electrum.QrPayments.Contracts.Models;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;
using Microsoft.EntityFrameworkCore;

namespace Electrum.QrPayments.Api.Ops;

/// <summary>The advice queue as an operator sees it.</summary>
public sealed record OutboxStats(int Pending, int Retrying, int Failed, int Delivered, double? OldestPendingAgeSeconds);

/// <summary>One advice in the queue (never its body: it may carry references the partner treats as sensitive).</summary>
public sealed record OutboxItem(
    long Id, Guid PaymentId, string Kind, string PartnerId, string MessageId, string State, int Attempts,
    int? LastStatus, string? LastError, DateTimeOffset CreatedAt, DateTimeOffset NextAttemptAt, DateTimeOffset? CompletedAt)
{
    public static OutboxItem Of(OutboxMessage o)
    {
        ArgumentNullException.ThrowIfNull(o);
        return new(o.Id, o.PaymentId, o.Kind.ToString(), o.PartnerId, o.MessageId, o.State.ToString(),
            o.Attempts, o.LastStatus, o.LastError, o.CreatedAt, o.NextAttemptAt, o.CompletedAt);
    }
}

[ApiController]
[Route("ops/outbox")]
[Authorize(Policy = Callers.OperatorPolicy)]
[Produces("application/json")]
[Tags("Operations")]
[ProducesResponseType<ErrorDetail>(StatusCodes.Status401Unauthorized)]
[ProducesResponseType<ErrorDetail>(StatusCodes.Status403Forbidden)]
public sealed class OutboxOpsController(QrDbContext db, OutboxSignal signal, TimeProvider time) : ControllerBase
{
    /// <summary>Queue depth, items retrying, failed items, and the age of the oldest pending item.</summary>
    [HttpGet("stats", Name = "getOutboxStats")]
    [ProducesResponseType<OutboxStats>(StatusCodes.Status200OK)]
    public async Task<OutboxStats> Stats()
    {
        var counts = await db.Outbox.AsNoTracking().GroupBy(o => o.State).Select(g => new { g.Key, Count = g.Count() }).ToListAsync();
        var retrying = await db.Outbox.CountAsync(o => o.State == OutboxState.Pending && o.Attempts > 0);
        var oldest = await OutboxSampler.OldestPendingAsync(db, HttpContext.RequestAborted);
        int Count(OutboxState state) => counts.SingleOrDefault(c => c.Key == state)?.Count ?? 0;
        return new OutboxStats(Count(OutboxState.Pending), retrying, Count(OutboxState.Failed), Count(OutboxState.Delivered),
            oldest is { } created ? (time.GetUtcNow() - created).TotalSeconds : null);
    }

    /// <summary>Items needing attention: failed ones, and pending ones retried at least minAttempts times.</summary>
    /// <param name="state">Failed (default) or Pending.</param>
    /// <param name="minAttempts">For Pending: only items tried at least this often (default 3).</param>
    /// <param name="limit">At most this many, oldest first (default 100, at most 1000).</param>
    [HttpGet(Name = "listOutbox")]
    [ProducesResponseType<List<OutboxItem>>(StatusCodes.Status200OK)]
    [ProducesResponseType<ErrorDetail>(StatusCodes.Status400BadRequest)]
    public async Task<List<OutboxItem>> List([FromQuery] string? state, [FromQuery] int? minAttempts, [FromQuery] int? limit)
    {
        var wanted = state is null ? OutboxState.Failed
            : Enum.TryParse<OutboxState>(state, ignoreCase: true, out var parsed) && parsed != OutboxState.Delivered ? parsed
            : throw QrException.Format("state", "must be Failed or Pending");
        var take = limit is null ? 100 : limit is >= 1 and <= 1000 ? limit.Value : throw QrException.Format("limit", "must be 1 to 1000");
        var attempts = minAttempts is null ? 3 : minAttempts >= 0 ? minAttempts.Value : throw QrException.Format("minAttempts", "must not be negative");
        var query = db.Outbox.AsNoTracking().Where(o => o.State == wanted);
        if (wanted == OutboxState.Pending)
        {
            query = query.Where(o => o.Attempts >= attempts);
        }

        var items = await query.OrderBy(o => o.Id).Take(take).ToListAsync();
        return [.. items.Select(OutboxItem.Of)];
    }

    /// <summary>Puts a failed or retrying item back to be delivered now (same message id).</summary>
    [HttpPost("{id:long}/requeue", Name = "requeueOutbox")]
    [ProducesResponseType(StatusCodes.Status202Accepted)]
    [ProducesResponseType<ErrorDetail>(StatusCodes.Status404NotFound)]
    [ProducesResponseType<ErrorDetail>(StatusCodes.Status400BadRequest)]
    public async Task<IActionResult> Requeue(long id)
    {
        var now = time.GetUtcNow();
        var updated = await db.WriteAsync(() => db.Outbox
            .Where(o => o.Id == id && o.State != OutboxState.Delivered)
            .ExecuteUpdateAsync(s => s.SetProperty(o => o.State, OutboxState.Pending).SetProperty(o => o.NextAttemptAt, now)));
        if (updated == 0)
        {
            throw await db.Outbox.AnyAsync(o => o.Id == id)
                ? new QrException(StatusCodes.Status400BadRequest, ErrorType.GeneralError, "Already delivered", ErrorDetails.Reason("a delivered advice is not sent again"))
                : QrException.NotFound($"no outbox item {id}");
        }

        signal.Notify();
        return StatusCode(StatusCodes.Status202Accepted);
    }
}

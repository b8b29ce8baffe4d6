using Electrum.QrPayments.Api.Partners;
using Electrum.QrPayments.Api.Persistence;
using Electrum.QrPayments.Contracts.Models;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Electrum.QrPayments.Api.Advices;

/// <summary>
/// Delivers outbox rows to partners. An item is claimed with a lease by a conditional UPDATE, so
/// several dispatchers (several instances) never send it at once, and a crashed holder's lease
/// just runs out. Per payment only the oldest pending item is eligible, so advices arrive in
/// order. Successful and failed outcomes end an item; unknown ones retry with capped
/// exponential backoff and jitter, with the same message id every time.
/// </summary>
public sealed partial class OutboxDispatcher(
    IServiceScopeFactory scopes,
    PartnerGateway partners,
    OutboxSignal signal,
    IOptions<OutboxOptions> outboxOptions,
    IOptions<QrPaymentsOptions> options,
    TimeProvider time,
    ILogger<OutboxDispatcher> logger) : BackgroundService
{
    private readonly string owner = $"{Environment.ProcessId}-{Guid.NewGuid():N}";
    private readonly OutboxOptions settings = outboxOptions.Value;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            int handled;
            try
            {
                handled = await DispatchDueAsync(stoppingToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // A database hiccup must not stop delivery; the rows are still there next pass.
                LogPassFailed(logger, e);
                handled = 0;
            }

            if (handled < settings.BatchSize)
            {
                try
                {
                    await signal.WaitAsync(settings.PollInterval, stoppingToken);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    /// <summary>One pass: claim what is due and deliver it. Returns how many items were claimed.</summary>
    public async Task<int> DispatchDueAsync(CancellationToken ct)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<QrDbContext>();
        var now = time.GetUtcNow();
        // Longer than any delivery (bounded by PartnerTimeout); a killed holder's items wait no longer than this.
        var leaseUntil = now + options.Value.PartnerTimeout + TimeSpan.FromSeconds(5);
        var claimed = db.Database.IsNpgsql()
            ? await ClaimWithSkipLockedAsync(db, now, leaseUntil, ct)
            : await ClaimOneByOneAsync(db, now, leaseUntil, ct);
        await Task.WhenAll(claimed.Select(DeliverAsync));
        return claimed.Count;
    }

    // PostgreSQL: one statement; rows another dispatcher is claiming right now are skipped, not waited for.
    private async Task<List<OutboxMessage>> ClaimWithSkipLockedAsync(QrDbContext db, DateTimeOffset now, DateTimeOffset leaseUntil, CancellationToken ct) =>
        await db.Outbox.FromSqlInterpolated($"""
            UPDATE outbox SET lease_owner = {owner}, lease_until = {leaseUntil.UtcDateTime}
            WHERE id IN (
                SELECT o.id FROM outbox o
                WHERE o.state = 'Pending' AND o.next_attempt_at <= {now.UtcDateTime}
                  AND (o.lease_until IS NULL OR o.lease_until < {now.UtcDateTime})
                  AND NOT EXISTS (SELECT 1 FROM outbox e WHERE e.payment_id = o.payment_id AND e.state = 'Pending' AND e.id < o.id)
                ORDER BY o.id
                LIMIT {settings.BatchSize}
                FOR UPDATE SKIP LOCKED)
            RETURNING *
            """).AsNoTracking().ToListAsync(ct);

    // SQLite (one writer at a time): pick candidates, then claim each with a conditional UPDATE.
    private async Task<List<OutboxMessage>> ClaimOneByOneAsync(QrDbContext db, DateTimeOffset now, DateTimeOffset leaseUntil, CancellationToken ct)
    {
        var due = await db.Outbox.AsNoTracking()
            .Where(o => o.State == OutboxState.Pending && o.NextAttemptAt <= now && (o.LeaseUntil == null || o.LeaseUntil < now))
            .Where(o => !db.Outbox.Any(e => e.PaymentId == o.PaymentId && e.State == OutboxState.Pending && e.Id < o.Id))
            .OrderBy(o => o.Id)
            .Take(settings.BatchSize)
            .ToListAsync(ct);

        var claimed = new List<OutboxMessage>();
        foreach (var item in due)
        {
            var won = await db.Outbox
                .Where(o => o.Id == item.Id && o.State == OutboxState.Pending && (o.LeaseUntil == null || o.LeaseUntil < now))
                .ExecuteUpdateAsync(s => s.SetProperty(o => o.LeaseOwner, owner).SetProperty(o => o.LeaseUntil, leaseUntil), ct);
            if (won == 1)
            {
                claimed.Add(item);
            }
        }

        return claimed;
    }

    private async Task DeliverAsync(OutboxMessage item)
    {
        var outcome = await partners.SendAdviceAsync(item.PartnerId, item.Kind, item.MessageId, item.Body);
        var now = time.GetUtcNow();
        var attempts = item.Attempts + 1;
        var error = outcome.Failure ?? outcome.Error?.ErrorMessage;
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<QrDbContext>();
        var mine = db.Outbox.Where(o => o.Id == item.Id && o.LeaseOwner == owner);
        if (outcome.Class == OutcomeClass.Unknown)
        {
            var next = now + Backoff(attempts);
            await mine.ExecuteUpdateAsync(s => s
                .SetProperty(o => o.Attempts, attempts)
                .SetProperty(o => o.NextAttemptAt, next)
                .SetProperty(o => o.LastStatus, outcome.Status)
                .SetProperty(o => o.LastError, error)
                .SetProperty(o => o.LeaseOwner, (string?)null)
                .SetProperty(o => o.LeaseUntil, (DateTimeOffset?)null));
            LogRetry(logger, item.Kind, item.MessageId, item.PartnerId, attempts, next);
            return;
        }

        var state = outcome.Class == OutcomeClass.Successful ? OutboxState.Delivered : OutboxState.Failed;
        await mine.ExecuteUpdateAsync(s => s
            .SetProperty(o => o.State, state)
            .SetProperty(o => o.Attempts, attempts)
            .SetProperty(o => o.LastStatus, outcome.Status)
            .SetProperty(o => o.LastError, error)
            .SetProperty(o => o.CompletedAt, now)
            .SetProperty(o => o.LeaseOwner, (string?)null)
            .SetProperty(o => o.LeaseUntil, (DateTimeOffset?)null));
        LogDone(logger, item.Kind, item.MessageId, item.PartnerId, state);
    }

    /// <summary>Base × 2^(attempt-1), capped, with ±20% jitter so retries of many items spread out.</summary>
    public TimeSpan Backoff(int attempt)
    {
        var exponential = settings.RetryBaseDelay.TotalMilliseconds * Math.Pow(2, Math.Min(attempt - 1, 30));
        var capped = Math.Min(exponential, settings.RetryMaxDelay.TotalMilliseconds);
        return TimeSpan.FromMilliseconds(capped * (0.8 + Random.Shared.NextDouble() * 0.4));
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Outbox pass failed; retrying on the next pass")]
    private static partial void LogPassFailed(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Kind} {MessageId} to {PartnerId}: outcome unknown (attempt {Attempts}); next try at {NextAttemptAt}")]
    private static partial void LogRetry(ILogger logger, AdviceKind kind, string messageId, string partnerId, int attempts, DateTimeOffset nextAttemptAt);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Kind} {MessageId} to {PartnerId}: {State}")]
    private static partial void LogDone(ILogger logger, AdviceKind kind, string messageId, string partnerId, OutboxState state);
}

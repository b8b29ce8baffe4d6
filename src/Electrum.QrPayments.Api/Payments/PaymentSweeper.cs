using Electrum.QrPayments.Api.Advices;
using Electrum.QrPayments.Api.Persistence;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Electrum.QrPayments.Api.Payments;

/// <summary>
/// Recovery, at start-up and then every SweepInterval: payments left mid-flight by a crashed (or
/// vanished) instance are ended the way the interface expects. A held payment long past its hold
/// (its POS connection is gone with the instance) ends as NoScan; a payment forwarded to a partner
/// with no outcome recorded long after PartnerTimeout ends as TimedOut with a timeout reversal
/// queued, because the partner may have approved it. Every move goes through the aggregate, so a
/// live instance that records the outcome first simply wins the race.
/// </summary>
public sealed partial class PaymentSweeper(
    IServiceScopeFactory scopes,
    Signals signals,
    OutboxSignal outbox,
    IOptions<QrPaymentsOptions> options,
    TimeProvider time,
    ILogger<PaymentSweeper> logger) : BackgroundService
{
    /// <summary>Slack past a deadline before another instance's work counts as abandoned.</summary>
    public static readonly TimeSpan Grace = TimeSpan.FromSeconds(5);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await SweepAsync();
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LogSweepFailed(logger, e);
            }

            try
            {
                await Task.Delay(options.Value.SweepInterval, time, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>One pass; returns how many payments it ended.</summary>
    public async Task<int> SweepAsync()
    {
        var settings = options.Value;
        var now = time.GetUtcNow();
        var holdCutoff = now - Grace;
        var forwardCutoff = now - settings.PartnerTimeout - Grace;
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<QrDbContext>();
        var expiredCodes = db.QrCodes.Where(c => c.ExpiresAt != null && c.ExpiresAt <= now).Select(c => c.TranId);
        var stale = await db.Payments.AsNoTracking()
            .Where(p => (p.State == PaymentState.AwaitingScan && (p.HoldUntil < holdCutoff || expiredCodes.Contains(p.TranId!))) ||
                        (p.State == PaymentState.Forwarded && p.UpdatedAt < forwardCutoff))
            .OrderBy(p => p.UpdatedAt)
            .Select(p => p.Id)
            .Take(500)
            .ToListAsync();

        var ended = 0;
        foreach (var id in stale)
        {
            db.ChangeTracker.Clear();
            var payment = await db.Payments.SingleAsync(p => p.Id == id);
            if (payment.State == PaymentState.AwaitingScan)
            {
                payment.ExpireHold(now);
            }
            else if (payment.State == PaymentState.Forwarded)
            {
                payment.TimeOut(now);
                db.Outbox.Add(UpstreamAdvices.Reversal(payment, Contracts.Models.ReversalReason.Timeout, null, now));
            }
            else
            {
                continue;
            }

            try
            {
                await db.SaveChangesAsync();
                ended++;
                LogEnded(logger, payment.RequestId, payment.State);
                await signals.NotifyPaymentAsync(payment.Id);
            }
            catch (DbUpdateConcurrencyException)
            {
                // A live instance moved it meanwhile: its decision stands.
            }
        }

        if (ended > 0)
        {
            outbox.Notify();
        }

        return ended;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Recovery ended payment {RequestId} as {State}")]
    private static partial void LogEnded(ILogger logger, string requestId, PaymentState state);

    [LoggerMessage(Level = LogLevel.Error, Message = "Recovery sweep failed; retrying on the next pass")]
    private static partial void LogSweepFailed(ILogger logger, Exception exception);
}

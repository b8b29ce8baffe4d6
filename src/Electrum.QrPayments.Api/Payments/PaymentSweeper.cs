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
/// The first pass, and one an hour, looks at every payment; the others only at payments created
/// since a start that never passes a payment still pending (through the created_at index), so a
/// pass costs what recent traffic costs and not what the whole history does.
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

    /// <summary>Most payments one pass ends; a pass that reaches it leaves the window where it was.</summary>
    public const int PassLimit = 500;

    /// <summary>How often a pass looks at every payment, whatever the window says.</summary>
    public static readonly TimeSpan FullPassEvery = TimeSpan.FromHours(1);

    // UTC ticks. The window's start: no payment created before it was still pending at the last
    // complete pass. 0 until a complete pass, so the first one (at start-up) looks at everything.
    // Changed only inside a pass (one at a time); read through Volatile as the loop's passes move
    // between threads.
    private long windowStartTicks;
    private long lastFullPassTicks;

    // One pass at a time (a test's and the loop's), so the window and the full-pass time move together.
    private readonly SemaphoreSlim passing = new(1, 1);

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
        await passing.WaitAsync();
        try
        {
            return await PassAsync();
        }
        finally
        {
            passing.Release();
        }
    }

    private async Task<int> PassAsync()
    {
        var settings = options.Value;
        var now = time.GetUtcNow();
        var holdCutoff = now - Grace;
        var forwardCutoff = now - settings.PartnerTimeout - Grace;
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<QrDbContext>();
        var candidates = db.Payments.AsNoTracking().TagWith(SweepTag);
        var windowStart = Volatile.Read(ref windowStartTicks);
        var full = windowStart == 0 || now.UtcTicks - Volatile.Read(ref lastFullPassTicks) >= FullPassEvery.Ticks;
        if (!full)
        {
            var from = new DateTimeOffset(windowStart, TimeSpan.Zero);
            candidates = candidates.Where(p => p.CreatedAt >= from);
        }

        // A held payment's code is looked up by its tranId (unique index), only for held payments.
        var stale = await candidates
            .Where(p => (p.State == PaymentState.AwaitingScan &&
                         (p.HoldUntil < holdCutoff || db.QrCodes.Any(c => c.TranId == p.TranId && c.ExpiresAt != null && c.ExpiresAt <= now))) ||
                        (p.State == PaymentState.Forwarded && p.UpdatedAt < forwardCutoff))
            .OrderBy(p => p.UpdatedAt)
            .Select(p => p.Id)
            .Take(PassLimit)
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
            catch (DbUpdateException e)
            {
                // This one payment could not be ended: the others still are, and it stays pending,
                // so the window keeps it in view for the next pass.
                LogEndFailed(logger, payment.RequestId, e);
            }
        }

        if (ended > 0)
        {
            outbox.Notify();
        }

        if (stale.Count < PassLimit)
        {
            // Complete (nothing left over, nothing threw): the next pass may start nearer the present,
            // but never after a payment still pending, however long it has been pending (a database
            // outage, a late POS reversal), so none is ever left behind the window.
            var start = now - Horizon(settings);
            var oldestPending = await candidates
                .Where(p => p.CreatedAt < start && (p.State == PaymentState.AwaitingScan || p.State == PaymentState.Forwarded))
                .MinAsync(p => (DateTimeOffset?)p.CreatedAt);
            Volatile.Write(ref windowStartTicks, (oldestPending < start ? oldestPending.Value : start).UtcTicks);
            if (full)
            {
                Volatile.Write(ref lastFullPassTicks, now.UtcTicks);
            }
        }

        return ended;
    }

    /// <summary>The tag on the sweep's queries (a comment in their SQL).</summary>
    public const string SweepTag = "recovery sweep";

    /// <summary>
    /// How far before a complete pass the window starts when nothing older is pending: room for a
    /// payment another instance stamped with its clock and commits later (clocks that differ, a
    /// stalled insert). Pending payments older than that keep the window back themselves; the
    /// margin is generous (the deadlines a payment can run through, plus five minutes), and the
    /// hourly full pass catches whatever falls outside it.
    /// </summary>
    public static TimeSpan Horizon(QrPaymentsOptions settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        return settings.ScanWait + settings.EarlyScanGrace + (2 * (settings.PartnerTimeout + settings.SweepInterval + Grace)) + TimeSpan.FromMinutes(5);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Recovery ended payment {RequestId} as {State}")]
    private static partial void LogEnded(ILogger logger, string requestId, PaymentState state);

    [LoggerMessage(Level = LogLevel.Error, Message = "Recovery could not end payment {RequestId}; trying again on the next pass")]
    private static partial void LogEndFailed(ILogger logger, string requestId, Exception exception);

    [LoggerMessage(Level = LogLevel.Error, Message = "Recovery sweep failed; retrying on the next pass")]
    private static partial void LogSweepFailed(ILogger logger, Exception exception);
}

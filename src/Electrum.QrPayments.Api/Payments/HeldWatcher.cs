using System.Collections.Concurrent;
using Electrum.QrPayments.Api.Persistence;
using Microsoft.EntityFrameworkCore;

namespace Electrum.QrPayments.Api.Payments;

/// <summary>
/// The database side of the wake-ups: every <see cref="Interval"/> one query per instance looks at
/// all payments held here (and all tranIds an early scan waits on here) and wakes those whose state
/// moved, whoever moved it. So thousands of held requests cost one query per interval, not one
/// each, and a change made on another instance is seen within the interval even if its signal is lost.
/// </summary>
public sealed partial class HeldWatcher(IServiceScopeFactory scopes, Signals signals, TimeProvider time, ILogger<HeldWatcher> logger) : BackgroundService
{
    public static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(250);
    private const int Chunk = 500;

    private readonly ConcurrentDictionary<Guid, int> heldPayments = new();
    private readonly ConcurrentDictionary<string, int> awaitedTranIds = new(StringComparer.Ordinal);

    /// <summary>Payments and tranIds watched right now (for tests and diagnostics).</summary>
    public int Count => heldPayments.Count + awaitedTranIds.Count;

    /// <summary>Pays held on this instance right now.</summary>
    public int HeldPayments => heldPayments.Count;

    /// <summary>Watch a held payment until the returned handle is disposed.</summary>
    public IDisposable WatchPayment(Guid paymentId) => Watch(heldPayments, paymentId);

    /// <summary>Watch for a payment to be held on a tranId (an early scan waits for it).</summary>
    public IDisposable WatchTran(string tranId) => Watch(awaitedTranIds, tranId);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(Interval, time, stoppingToken);
                await CheckAsync(stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (Exception e)
            {
                LogCheckFailed(logger, e);
            }
        }
    }

    private async Task CheckAsync(CancellationToken ct)
    {
        if (heldPayments.IsEmpty && awaitedTranIds.IsEmpty)
        {
            return;
        }

        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<QrDbContext>();
        foreach (var ids in heldPayments.Keys.Chunk(Chunk))
        {
            var moved = await db.Payments.AsNoTracking()
                .Where(p => ids.Contains(p.Id) && p.State != PaymentState.AwaitingScan)
                .Select(p => p.Id)
                .ToListAsync(ct);
            moved.ForEach(id => signals.NotifyLocal(Signals.Payment(id)));
        }

        foreach (var tranIds in awaitedTranIds.Keys.Chunk(Chunk))
        {
            var held = await db.Payments.AsNoTracking()
                .Where(p => p.ActiveTranId != null && tranIds.Contains(p.ActiveTranId))
                .Select(p => p.ActiveTranId!)
                .ToListAsync(ct);
            held.ForEach(tranId => signals.NotifyLocal(Signals.Tran(tranId)));
        }
    }

    private static Watching<T> Watch<T>(ConcurrentDictionary<T, int> watched, T key) where T : notnull
    {
        watched.AddOrUpdate(key, 1, (_, n) => n + 1);
        return new Watching<T>(watched, key);
    }

    private sealed class Watching<T>(ConcurrentDictionary<T, int> watched, T key) : IDisposable where T : notnull
    {
        public void Dispose()
        {
            if (watched.AddOrUpdate(key, 0, (_, n) => n - 1) <= 0)
            {
                watched.TryRemove(KeyValuePair.Create(key, 0));
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Checking held requests failed; trying again")]
    private static partial void LogCheckFailed(ILogger logger, Exception exception);
}

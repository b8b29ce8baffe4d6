using System.Collections.Concurrent;

namespace Electrum.QrPayments.Api.Payments;

/// <summary>Carries signals to the other instances (PostgreSQL NOTIFY); nothing on a single instance.</summary>
public interface ISignalTransport
{
    Task PublishAsync(string key);
}

/// <summary>One instance (SQLite): local signals are all there is.</summary>
public sealed class LocalSignalTransport : ISignalTransport
{
    public Task PublishAsync(string key) => Task.CompletedTask;
}

/// <summary>
/// Wake-ups for held requests: a held pay waits on its payment's key, an early scan on its
/// tranId's key. A signal within this process may carry what the notifier just committed (a held
/// pay's matched payment), so the waiter need not read it back; otherwise, and between instances,
/// a signal is only a hint to look again: the database stays the truth, and waiters
/// also re-read it on a short interval, so a lost signal costs at most that interval. Signals go
/// to the other instances through <see cref="ISignalTransport"/>. Waiting costs a timer and a
/// task, never a thread; a key is forgotten when it fires or when its last waiter leaves, so
/// nothing stays behind for payments that are over.
/// </summary>
public sealed class Signals(TimeProvider time, ISignalTransport transport)
{
    private readonly Dictionary<string, Waiters> waiters = new(StringComparer.Ordinal);
    private readonly Lock gate = new();

    public static string Payment(Guid paymentId) => "p:" + paymentId.ToString("N");

    public static string Tran(string tranId) => "t:" + tranId;

    /// <summary>Keys with someone waiting on them (for tests and diagnostics).</summary>
    public int Count
    {
        get
        {
            lock (gate)
            {
                return waiters.Count;
            }
        }
    }

    /// <summary>
    /// Starts listening for a key. Arm before reading the database, then wait; dispose the
    /// returned handle when done with it (it is what lets the key be forgotten).
    /// </summary>
    public Armed Arm(string key)
    {
        lock (gate)
        {
            if (!waiters.TryGetValue(key, out var entry))
            {
                entry = new Waiters();
                waiters[key] = entry;
            }

            entry.Count++;
            return new Armed(this, key, entry);
        }
    }

    /// <summary>
    /// Returns when the armed signal fires or the timeout passes, whichever is first: with what the
    /// signal carried, or null (nothing carried, or the timeout).
    /// </summary>
    public async Task<object?> WaitAsync(Armed armed, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(armed);
        if (timeout <= TimeSpan.Zero)
        {
            return null;
        }

        try
        {
            return await armed.Fired.WaitAsync(timeout, time);
        }
        catch (TimeoutException)
        {
            // Time to look at the database again.
            return null;
        }
    }

    /// <summary>
    /// Wakes the request held for a payment, wherever it is held. A pay is held by exactly one
    /// instance: when that is this one, no other needs telling, and the PostgreSQL NOTIFY (a
    /// commit that serializes with every other notifying commit) is saved. <paramref name="committed"/>,
    /// a copy of the payment as just committed and shared with no context, reaches a pay held here.
    /// </summary>
    public async Task NotifyPaymentAsync(Guid paymentId, Payments.Payment? committed = null)
    {
        var key = Payment(paymentId);
        if (!NotifyLocal(key, committed))
        {
            await transport.PublishAsync(key);
        }
    }

    /// <summary>Wakes the waiters of a key in this process only; false when there were none.</summary>
    public bool NotifyLocal(string key, object? carried = null)
    {
        Waiters? entry;
        lock (gate)
        {
            if (!waiters.Remove(key, out entry))
            {
                return false;
            }
        }

        entry.Signal.TrySetResult(carried);
        return true;
    }

    private void Leave(string key, Waiters entry)
    {
        lock (gate)
        {
            // The key may already have fired (and been re-armed by someone else): only our entry counts.
            if (--entry.Count == 0 && waiters.TryGetValue(key, out var current) && current == entry)
            {
                waiters.Remove(key);
            }
        }
    }

    internal sealed class Waiters
    {
        public TaskCompletionSource<object?> Signal { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public int Count { get; set; }
    }

    /// <summary>One waiter's hold on a key.</summary>
    public sealed class Armed : IDisposable
    {
        private readonly Signals owner;
        private readonly string key;
        private readonly Waiters entry;
        private int disposed;

        internal Armed(Signals owner, string key, Waiters entry)
        {
            this.owner = owner;
            this.key = key;
            this.entry = entry;
        }

        /// <summary>Completes when the key is signalled, with what the signal carried.</summary>
        public Task<object?> Fired => entry.Signal.Task;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref disposed, 1) == 0)
            {
                owner.Leave(key, entry);
            }
        }
    }
}

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
/// tranId's key. A signal is only a hint to look again: the database stays the truth, and waiters
/// also re-read it on a short interval, so a lost signal costs at most that interval. Signals go
/// to the other instances through <see cref="ISignalTransport"/>. Waiting costs a timer and a
/// task, never a thread.
/// </summary>
public sealed class Signals(TimeProvider time, ISignalTransport transport)
{
    private readonly ConcurrentDictionary<string, TaskCompletionSource> waiters = new(StringComparer.Ordinal);

    public static string Payment(Guid paymentId) => "p:" + paymentId.ToString("N");

    public static string Tran(string tranId) => "t:" + tranId;

    /// <summary>
    /// Starts listening for a key. Arm before reading the database, then wait: a signal sent in
    /// between is not lost.
    /// </summary>
    public Task Arm(string key) =>
        waiters.GetOrAdd(key, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;

    /// <summary>Returns when the armed signal fires or the timeout passes, whichever is first.</summary>
    public async Task WaitAsync(Task armed, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(armed);
        if (timeout <= TimeSpan.Zero)
        {
            return;
        }

        try
        {
            await armed.WaitAsync(timeout, time);
        }
        catch (TimeoutException)
        {
            // Time to look at the database again.
        }
    }

    /// <summary>Wakes the waiters of a key here and on every other instance.</summary>
    public async Task NotifyAsync(string key)
    {
        NotifyLocal(key);
        await transport.PublishAsync(key);
    }

    /// <summary>Wakes the waiters of a key in this process only (used by the transport's listener).</summary>
    public void NotifyLocal(string key)
    {
        if (waiters.TryRemove(key, out var signal))
        {
            signal.TrySetResult();
        }
    }
}

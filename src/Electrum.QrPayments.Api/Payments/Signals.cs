using System.Collections.Concurrent;

namespace Electrum.QrPayments.Api.Payments;

/// <summary>
/// In-process wake-ups for held requests: a held pay waits on its payment's key, an early scan on
/// its tranId's key. A signal is only a hint to look again: the database stays the truth, and
/// waiters also re-read it on a short interval so a change made by another instance is seen.
/// Waiting costs a timer and a task, never a thread.
/// </summary>
public sealed class Signals(TimeProvider time)
{
    private readonly ConcurrentDictionary<string, TaskCompletionSource> waiters = new(StringComparer.Ordinal);

    public static string Payment(Guid paymentId) => "p:" + paymentId.ToString("N");

    public static string Tran(string tranId) => "t:" + tranId;

    /// <summary>Returns when the key is signalled or the timeout passes, whichever is first.</summary>
    public async Task WaitAsync(string key, TimeSpan timeout)
    {
        if (timeout <= TimeSpan.Zero)
        {
            return;
        }

        var signal = waiters.GetOrAdd(key, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        try
        {
            await signal.Task.WaitAsync(timeout, time);
        }
        catch (TimeoutException)
        {
            // Time to look at the database again.
        }
    }

    public void Notify(string key)
    {
        if (waiters.TryRemove(key, out var signal))
        {
            signal.TrySetResult();
        }
    }
}

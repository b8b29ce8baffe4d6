namespace Electrum.QrPayments.Api.Advices;

/// <summary>Wakes the dispatcher, so delivery does not wait for the next poll.</summary>
public sealed class OutboxSignal
{
    private readonly SemaphoreSlim pending = new(0, 1);
    private int queued;

    /// <summary>Something was queued in the database: the next pass searches for it.</summary>
    public void Notify()
    {
        // A full fence: Wake may find a wake-up pending and return, and the pass it wakes must see this.
        Interlocked.Exchange(ref queued, 1);
        Wake();
    }

    /// <summary>A slot or an advice the dispatcher already knows of is ready: a pass, with no search needed.</summary>
    public void Wake()
    {
        // Already signalled: one wake-up covers everything so far. Checked first because most calls
        // under load find it signalled, and a throw per call is costly; the catch covers the race.
        if (pending.CurrentCount > 0)
        {
            return;
        }

        try
        {
            pending.Release();
        }
        catch (SemaphoreFullException)
        {
            // Signalled by another caller in between.
        }
    }

    /// <summary>Whether <see cref="Notify"/> was called since the last time this was asked.</summary>
    public bool TakeQueued() => Interlocked.Exchange(ref queued, 0) == 1;

    public Task<bool> WaitAsync(TimeSpan timeout, CancellationToken ct) => pending.WaitAsync(timeout, ct);
}

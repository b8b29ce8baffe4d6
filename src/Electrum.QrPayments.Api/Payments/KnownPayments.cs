using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;
using Microsoft.Extensions.Caching.Memory;

namespace Electrum.QrPayments.Api.Payments;

/// <summary>
/// Payments as this instance last committed them, so the next step of a lifecycle handled here
/// starts without reading the row back: a scan finds the pay held here for its tranId, and a
/// confirmation or reversal the payment a pay here has just approved. A copy can be stale (another
/// request or instance may have moved the payment since); that is safe because every change is
/// saved against the payment's version, so a save from a stale copy fails and its caller reads the
/// payment and decides again, as after any lost race. Copies are never changed: callers adopt them.
/// </summary>
public sealed class KnownPayments : IDisposable
{
    /// <summary>Approved payments remembered; a confirmation usually follows its approval within seconds.</summary>
    public const int ApprovedCapacity = 1_024;

    /// <summary>
    /// How long an approved payment is remembered: one whose advice goes to another instance, or
    /// never comes, is not kept taking a place.
    /// </summary>
    public static readonly TimeSpan ApprovedFor = TimeSpan.FromMinutes(1);

    private readonly ConcurrentDictionary<string, Payment> held = new(StringComparer.Ordinal);
    private readonly MemoryCache approved = new(new MemoryCacheOptions { SizeLimit = ApprovedCapacity });

    /// <summary>
    /// Remembers a pay held here, by its tranId, until the returned handle is disposed. The pay
    /// keeps the object it inserted unchanged (it holds and forwards copies of it), so it is shared as it is.
    /// </summary>
    public IDisposable Hold(Payment committed)
    {
        ArgumentNullException.ThrowIfNull(committed);
        var tranId = committed.ActiveTranId ?? throw new ArgumentException("a held payment holds its code", nameof(committed));
        // A pay ended at once (reversed before its hold began) must not take the place of a later one on the code.
        held.AddOrUpdate(tranId, committed, (_, other) => other.CreatedAt > committed.CreatedAt ? other : committed);
        return new Holding(held, KeyValuePair.Create(tranId, committed));
    }

    /// <summary>The pay held here for this tranId, as committed when its hold began.</summary>
    public bool TryGetHeld(string tranId, [NotNullWhen(true)] out Payment? payment) => held.TryGetValue(tranId, out payment);

    /// <summary>
    /// Remembers a payment a pay here has just approved, by the POS's request id, for
    /// <see cref="ApprovedFor"/>. When <see cref="ApprovedCapacity"/> are remembered, a new one is
    /// not (MemoryCache then drops some in the background). Called after the commit, so it never fails.
    /// </summary>
    public void Approved(Payment committed)
    {
        ArgumentNullException.ThrowIfNull(committed);
        try
        {
            using var entry = approved.CreateEntry(committed.RequestId);
            entry.Size = 1;
            entry.AbsoluteExpirationRelativeToNow = ApprovedFor;
            entry.Value = committed;
        }
        catch (ObjectDisposedException)
        {
            // Shutting down: the approval stands; its advice reads the payment.
        }
    }

    /// <summary>
    /// Takes the approved payment remembered for this request id, if it is the client's: the advice
    /// that follows an approval is its confirmation or reversal, and a later one reads the payment
    /// as it is by then. Two advices at once may both take it; the version lets one of them save.
    /// </summary>
    public bool TryTakeApproved(string requestId, string clientId, [NotNullWhen(true)] out Payment? payment)
    {
        try
        {
            if (approved.TryGetValue(requestId, out payment) && payment is not null && payment.ClientId == clientId)
            {
                approved.Remove(requestId);
                return true;
            }
        }
        catch (ObjectDisposedException)
        {
            // Shutting down: the advice reads the payment.
        }

        payment = null;
        return false;
    }

    public void Dispose() => approved.Dispose();

    // Removes only its own entry: a later pay on the same code may have taken the tranId since.
    private sealed class Holding(ConcurrentDictionary<string, Payment> held, KeyValuePair<string, Payment> entry) : IDisposable
    {
        public void Dispose() => held.TryRemove(entry);
    }
}

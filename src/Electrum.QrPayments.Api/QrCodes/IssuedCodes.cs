using System.Diagnostics.CodeAnalysis;
using Microsoft.Extensions.Caching.Memory;

namespace Electrum.QrPayments.Api.QrCodes;

/// <summary>
/// QR codes this instance issued or read, by tranId, so a pay checks against its code without a
/// read. A committed code never changes and is never deleted, so a copy here cannot be stale; only
/// committed codes are put here. A pay usually follows its code within seconds, so the last
/// <see cref="Capacity"/> are enough (about 2 KB each with the payload). Past that MemoryCache drops
/// the least recently used in the background, and a pay for a code not here reads it.
/// </summary>
public sealed class IssuedCodes : IDisposable
{
    public const int Capacity = 4_096;

    private readonly MemoryCache cache = new(new MemoryCacheOptions { SizeLimit = Capacity });

    public void Add(QrCode code)
    {
        ArgumentNullException.ThrowIfNull(code);
        using var entry = cache.CreateEntry(code.TranId);
        entry.Size = 1;
        entry.Value = code;
        // Frees the slot of an expired code; whether it is expired is still decided by the caller's clock.
        entry.AbsoluteExpiration = code.ExpiresAt;
    }

    public bool TryGet(string tranId, [NotNullWhen(true)] out QrCode? code) => cache.TryGetValue(tranId, out code);

    public void Dispose() => cache.Dispose();
}

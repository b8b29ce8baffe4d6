using System.Net;
using System.Net.Sockets;
using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;

namespace Electrum.QrPayments.Api.Web;

/// <summary>How many password checks (PBKDF2) a user name and a remote address may cause.</summary>
public sealed class LoginThrottleOptions
{
    public const string Section = "QrPayments:LoginThrottle";

    /// <summary>Checks one user name may have from one address in a burst before it is throttled.</summary>
    public int PermitsPerUser { get; set; } = 10;

    /// <summary>Checks one remote address (IPv6: its /64) may have in a burst before it is throttled.</summary>
    public int PermitsPerAddress { get; set; } = 10;

    /// <summary>Each user name (per address) and each address gets one check back per period.</summary>
    public TimeSpan ReplenishPeriod { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Checks running at once in this process, whatever addresses they come from: guesses from many
    /// addresses together can take no more of the CPU than this. Half the cores by default.
    /// </summary>
    public int MaxConcurrentChecks { get; set; } = Math.Max(1, Environment.ProcessorCount / 2);

    /// <summary>Checks waiting for one of those; beyond this a login is throttled.</summary>
    public int MaxQueuedChecks { get; set; } = 100;

    /// <summary>How long a check waits for a slot before the login is throttled instead.</summary>
    public TimeSpan MaxCheckWait { get; set; } = TimeSpan.FromSeconds(1);
}

/// <summary>
/// Token buckets per remote address, and per user name from that address, for the logins that
/// need a PBKDF2 check, so guessing cannot take the CPU that held payments need. The user name's
/// bucket is per address so that nobody can lock a till out by guessing its password from
/// elsewhere. Logins already verified never get here.
/// </summary>
public sealed class LoginThrottle : IAsyncDisposable
{
    // The framework drops a partition once its bucket has been full for 10 s, so made-up user names
    // do not pile up: a user name gets a partition only after its address granted a permit, and its
    // key is cut to this length.
    private const int MaxUserKeyLength = 128;
    private static readonly TimeSpan ReportEvery = TimeSpan.FromSeconds(10);

    private readonly PartitionedRateLimiter<string> byUser;
    private readonly PartitionedRateLimiter<string> byAddress;
    private readonly ConcurrencyLimiter running;
    private readonly TimeSpan replenishPeriod;
    private readonly TimeSpan maxCheckWait;
    private readonly TimeProvider time;
    private readonly ILogger<LoginThrottle> logger;
    private readonly Lock reportLock = new();
    private long refusedSinceReport;
    private long lastReport = long.MinValue;

    public LoginThrottle(IOptions<LoginThrottleOptions> options, TimeProvider time, ILogger<LoginThrottle> logger)
    {
        var o = options.Value;
        replenishPeriod = o.ReplenishPeriod;
        maxCheckWait = o.MaxCheckWait;
        this.time = time;
        this.logger = logger;
        byUser = Buckets(o.PermitsPerUser, o.ReplenishPeriod);
        byAddress = Buckets(o.PermitsPerAddress, o.ReplenishPeriod);
        running = new ConcurrencyLimiter(new ConcurrencyLimiterOptions
        {
            PermitLimit = o.MaxConcurrentChecks,
            QueueLimit = o.MaxQueuedChecks,
            QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
        });
    }

    /// <summary>
    /// Takes a permit for one password check; false, with how long to wait, when the address, or
    /// the user name from that address, has none left. The address is asked first, so a throttled
    /// address cannot drain the buckets of the user names it tries.
    /// </summary>
    public bool TryAcquire(string user, bool knownUser, IPAddress? address, out TimeSpan retryAfter)
    {
        var addressKey = AddressKey(address);
        using var addressLease = byAddress.AttemptAcquire(addressKey);
        if (!addressLease.IsAcquired)
        {
            retryAfter = RetryAfter(addressLease);
            Report("address", Shown(user, knownUser), addressKey);
            return false;
        }

        using var userLease = byUser.AttemptAcquire((user.Length <= MaxUserKeyLength ? user : user[..MaxUserKeyLength]) + "\n" + addressKey);
        if (!userLease.IsAcquired)
        {
            retryAfter = RetryAfter(userLease);
            Report("user name", Shown(user, knownUser), addressKey);
            return false;
        }

        retryAfter = TimeSpan.Zero;
        return true;
    }

    /// <summary>
    /// Waits for one of this process's check slots (after <see cref="TryAcquire"/>); null, with how
    /// long to wait, when too many checks are already waiting or none came free in time, so a
    /// caller is answered 429 promptly rather than kept waiting behind guesses. Dispose the lease
    /// when the check is done.
    /// </summary>
    public async ValueTask<(RateLimitLease? Slot, TimeSpan RetryAfter)> EnterCheckAsync(string user, bool knownUser, IPAddress? address)
    {
        var free = running.AttemptAcquire(1);
        if (free.IsAcquired)
        {
            return (free, TimeSpan.Zero);
        }

        free.Dispose();
        using var timeout = new CancellationTokenSource(maxCheckWait, time);
        try
        {
            var slot = await running.AcquireAsync(1, timeout.Token);
            if (slot.IsAcquired)
            {
                return (slot, TimeSpan.Zero);
            }

            slot.Dispose();
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested)
        {
            // Waited long enough: throttled like a full queue.
        }

        Report("the cap on checks at once", Shown(user, knownUser), AddressKey(address));
        return (null, replenishPeriod);
    }

    public async ValueTask DisposeAsync()
    {
        await byUser.DisposeAsync();
        await byAddress.DisposeAsync();
        await running.DisposeAsync();
    }

    private static PartitionedRateLimiter<string> Buckets(int permits, TimeSpan period) =>
        PartitionedRateLimiter.Create<string, string>(key => RateLimitPartition.GetTokenBucketLimiter(key, _ => new TokenBucketRateLimiterOptions
        {
            TokenLimit = permits,
            TokensPerPeriod = 1,
            ReplenishmentPeriod = period,
            QueueLimit = 0,
        }));

    /// <summary>An IPv6 client usually holds a whole /64, so that is what one address means there.</summary>
    private static string AddressKey(IPAddress? address)
    {
        if (address is null)
        {
            return "unknown";
        }

        if (address.IsIPv4MappedToIPv6)
        {
            return address.MapToIPv4().ToString();
        }

        if (address.AddressFamily != AddressFamily.InterNetworkV6)
        {
            return address.ToString();
        }

        var bytes = address.GetAddressBytes();
        Array.Clear(bytes, 8, 8);
        return new IPAddress(bytes) + "/64";
    }

    private TimeSpan RetryAfter(RateLimitLease lease) =>
        lease.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter) && retryAfter > TimeSpan.Zero ? retryAfter : replenishPeriod;

    // One line when throttling starts and at most one per ReportEvery while it goes on, so an attack
    // cannot flood the log. The user name is what was tried (never the password), cut short and without control characters.
    private void Report(string limit, string user, string address)
    {
        long refused;
        lock (reportLock)
        {
            refusedSinceReport++;
            var now = time.GetTimestamp();
            if (lastReport != long.MinValue && time.GetElapsedTime(lastReport, now) < ReportEvery)
            {
                return;
            }

            lastReport = now;
            refused = refusedSinceReport;
            refusedSinceReport = 0;
        }

        logger.LogWarning(
            "Failed logins throttled: {Refused} password check(s) refused since the last report; latest by {Limit} for user name {User} from {Address}",
            refused, limit, Printable(user), address);
    }

    // A name that is not configured may be anything a caller typed, a password pasted in the wrong
    // field included: it is never logged.
    private static string Shown(string user, bool knownUser) => knownUser ? Printable(user) : "(not configured)";

    private static string Printable(string user)
    {
        var cut = user.Length <= 64 ? user : user[..64];
        return cut.Any(char.IsControl) ? new string(cut.Select(c => char.IsControl(c) ? '?' : c).ToArray()) : cut;
    }
}

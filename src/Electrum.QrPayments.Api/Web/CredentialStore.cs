using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;

namespace Electrum.QrPayments.Api.Web;

/// <summary>The three kinds of caller; a user name belongs to exactly one.</summary>
public enum CallerRole
{
    Client,
    Partner,
    Operator,
}

/// <summary>What a login came to: the caller's role, a refusal (neither set), or a throttle with how long to wait.</summary>
public readonly record struct LoginResult(CallerRole? Role, TimeSpan? RetryAfter)
{
    public static LoginResult Refused => default;

    public static LoginResult Accepted(CallerRole role) => new(role, null);

    public static LoginResult Throttled(TimeSpan retryAfter) => new(null, retryAfter);
}

/// <summary>
/// Checks HTTP Basic credentials against the configured clients, partners and operators.
/// PBKDF2 is deliberately slow, so a password that verified once is remembered as a SHA-256
/// digest (never the password) and later requests compare digests in constant time, unthrottled.
/// Every other login costs a PBKDF2 check, and those are throttled per user name and address.
/// </summary>
public sealed class CredentialStore
{
    private readonly Dictionary<string, (CallerRole Role, string Secret)> callers = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, byte[]> verified = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<(string User, string Digest), Task<LoginResult>> checking = new();
    private readonly LoginThrottle throttle;
    private readonly string decoy;
    private readonly ConcurrentDictionary<int, string> paddings = new();
    private long passwordChecks;
    private long iterationsSpent;

    public CredentialStore(IOptions<QrPaymentsOptions> options, IHostEnvironment environment, LoginThrottle throttle)
    {
        var o = options.Value;
        Add(o.Clients, CallerRole.Client, environment);
        Add(o.Partners, CallerRole.Partner, environment);
        Add(o.Operators, CallerRole.Operator, environment);
        this.throttle = throttle;
        // An unknown user name costs what the costliest configured hash costs, so timing does not
        // tell which names exist.
        DecoyIterations = callers.Values.Max(c => SecretHasher.Iterations(c.Secret)) ?? SecretHasher.DefaultIterations;
        decoy = SecretHasher.Decoy(DecoyIterations);
    }

    /// <summary>PBKDF2 iterations spent on a login with an unknown user name.</summary>
    public int DecoyIterations { get; }

    /// <summary>Password checks done so far (PBKDF2 outside Development): the work the throttle bounds.</summary>
    internal long PasswordChecks => Interlocked.Read(ref passwordChecks);

    /// <summary>PBKDF2 iterations spent on logins so far.</summary>
    internal long IterationsSpent => Interlocked.Read(ref iterationsSpent);

    private void Add(IEnumerable<CredentialOptions> entries, CallerRole role, IHostEnvironment environment)
    {
        foreach (var entry in entries)
        {
            if (string.IsNullOrEmpty(entry.Id) || string.IsNullOrEmpty(entry.Secret))
            {
                throw new InvalidOperationException($"QrPayments:{role}s has an entry without Id or Secret.");
            }

            if (SecretHasher.IsHash(entry.Secret))
            {
                var iterations = SecretHasher.Iterations(entry.Secret)
                                 ?? throw new InvalidOperationException($"QrPayments: the secret of '{entry.Id}' is not a well-formed PBKDF2 hash.");
                if (iterations < SecretHasher.MinimumIterations)
                {
                    throw new InvalidOperationException(
                        $"QrPayments: the secret of '{entry.Id}' is a PBKDF2 hash of {iterations} iterations; at least " +
                        $"{SecretHasher.MinimumIterations} are required (print a new hash with hash-secret).");
                }
            }
            else if (!environment.IsDevelopment())
            {
                throw new InvalidOperationException(
                    $"QrPayments: the secret of '{entry.Id}' is not a PBKDF2 hash; plain secrets are allowed only in Development.");
            }

            if (!callers.TryAdd(entry.Id, (role, entry.Secret)))
            {
                throw new InvalidOperationException($"QrPayments: the user name '{entry.Id}' is configured twice.");
            }
        }
    }

    /// <summary>The caller's role when the credentials are right; a refusal or a throttle otherwise.</summary>
    public async ValueTask<LoginResult> AuthenticateAsync(string user, string password, IPAddress? address)
    {
        var digest = SHA256.HashData(Encoding.UTF8.GetBytes(password));
        if (callers.TryGetValue(user, out var caller) &&
            verified.TryGetValue(user, out var known) && CryptographicOperations.FixedTimeEquals(known, digest))
        {
            return LoginResult.Accepted(caller.Role);
        }

        // Logins with the same credentials at the same time (a retailer's tills after a restart)
        // share one check and one permit, so correct ones are not throttled by each other.
        var key = (user, Convert.ToBase64String(digest));
        var mine = new TaskCompletionSource<LoginResult>(TaskCreationOptions.RunContinuationsAsynchronously);
        var running = checking.GetOrAdd(key, mine.Task);
        if (running != mine.Task)
        {
            return await running;
        }

        try
        {
            var result = await CheckAsync(user, password, digest, address);
            mine.SetResult(result);
            return result;
        }
        catch (Exception e)
        {
            mine.SetException(e);
            throw;
        }
        finally
        {
            checking.TryRemove(KeyValuePair.Create(key, mine.Task));
        }
    }

    private async Task<LoginResult> CheckAsync(string user, string password, byte[] digest, IPAddress? address)
    {
        var known = callers.TryGetValue(user, out var caller);
        // Before any PBKDF2 work: a refused attempt costs next to nothing.
        if (!throttle.TryAcquire(user, known, address, out var retryAfter))
        {
            return LoginResult.Throttled(retryAfter);
        }

        var (slot, wait) = await throttle.EnterCheckAsync(user, known, address);
        if (slot is null)
        {
            return LoginResult.Throttled(wait);
        }

        using var held = slot;

        Interlocked.Increment(ref passwordChecks);
        if (!known)
        {
            Verify(password, decoy);
            return LoginResult.Refused;
        }

        var ok = SecretHasher.IsHash(caller.Secret)
            ? Verify(password, caller.Secret)
            : CryptographicOperations.FixedTimeEquals(digest, SHA256.HashData(Encoding.UTF8.GetBytes(caller.Secret)));
        if (!ok)
        {
            // A wrong password for a cheaper hash costs as much as an unknown name, so timing does not tell which names exist.
            if (SecretHasher.Iterations(caller.Secret) is { } own && own < DecoyIterations)
            {
                Verify(password, paddings.GetOrAdd(DecoyIterations - own, SecretHasher.Decoy));
            }

            return LoginResult.Refused;
        }

        verified[user] = digest;
        return LoginResult.Accepted(caller.Role);
    }

    private bool Verify(string password, string hash)
    {
        Interlocked.Add(ref iterationsSpent, SecretHasher.Iterations(hash) ?? 0);
        return SecretHasher.Verify(password, hash);
    }
}

using System.Collections.Concurrent;
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

/// <summary>
/// Checks HTTP Basic credentials against the configured clients, partners and operators.
/// PBKDF2 is deliberately slow, so a password that verified once is remembered as a SHA-256
/// digest (never the password) and later requests compare digests in constant time.
/// </summary>
public sealed class CredentialStore
{
    private readonly Dictionary<string, (CallerRole Role, string Secret)> callers = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, byte[]> verified = new(StringComparer.Ordinal);
    private readonly string decoy;

    public CredentialStore(IOptions<QrPaymentsOptions> options, IHostEnvironment environment)
    {
        var o = options.Value;
        Add(o.Clients, CallerRole.Client, environment);
        Add(o.Partners, CallerRole.Partner, environment);
        Add(o.Operators, CallerRole.Operator, environment);
        // An unknown user name costs what the costliest configured hash costs, so timing does not
        // tell which names exist.
        DecoyIterations = callers.Values.Max(c => SecretHasher.Iterations(c.Secret)) ?? SecretHasher.DefaultIterations;
        decoy = SecretHasher.Decoy(DecoyIterations);
    }

    /// <summary>PBKDF2 iterations spent on a login with an unknown user name.</summary>
    public int DecoyIterations { get; }

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

    /// <summary>The caller's role when the credentials are right; null otherwise.</summary>
    public CallerRole? Authenticate(string user, string password)
    {
        var digest = SHA256.HashData(Encoding.UTF8.GetBytes(password));
        if (!callers.TryGetValue(user, out var caller))
        {
            SecretHasher.Verify(password, decoy);
            return null;
        }

        if (verified.TryGetValue(user, out var known) && CryptographicOperations.FixedTimeEquals(known, digest))
        {
            return caller.Role;
        }

        var ok = SecretHasher.IsHash(caller.Secret)
            ? SecretHasher.Verify(password, caller.Secret)
            : CryptographicOperations.FixedTimeEquals(digest, SHA256.HashData(Encoding.UTF8.GetBytes(caller.Secret)));
        if (!ok)
        {
            return null;
        }

        verified[user] = digest;
        return caller.Role;
    }
}

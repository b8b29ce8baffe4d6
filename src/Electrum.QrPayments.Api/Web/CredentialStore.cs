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
    private readonly string dummyHash = SecretHasher.Hash("unknown-user", 1_000);

    public CredentialStore(IOptions<QrPaymentsOptions> options, IHostEnvironment environment)
    {
        var o = options.Value;
        Add(o.Clients, CallerRole.Client, environment);
        Add(o.Partners, CallerRole.Partner, environment);
        Add(o.Operators, CallerRole.Operator, environment);
    }

    private void Add(IEnumerable<CredentialOptions> entries, CallerRole role, IHostEnvironment environment)
    {
        foreach (var entry in entries)
        {
            if (string.IsNullOrEmpty(entry.Id) || string.IsNullOrEmpty(entry.Secret))
            {
                throw new InvalidOperationException($"QrPayments:{role}s has an entry without Id or Secret.");
            }

            if (!SecretHasher.IsHash(entry.Secret) && !environment.IsDevelopment())
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
            // Same work as a wrong password, so timing does not tell which user names exist.
            SecretHasher.Verify(password, dummyHash);
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

using System.Collections.Concurrent;
using Electrum.QrPayments.Api.Web;

namespace Electrum.QrPayments.Tests.Infrastructure;

/// <summary>
/// PBKDF2 hashes of the test passwords at the lowest iteration count the service accepts, each
/// computed once per test process: hundreds of tests build services, and hashing is slow on purpose.
/// </summary>
public static class TestSecrets
{
    private static readonly ConcurrentDictionary<string, Lazy<string>> Hashes = new(StringComparer.Ordinal);

    public static string Hash(string password) =>
        Hashes.GetOrAdd(password, p => new Lazy<string>(() => SecretHasher.Hash(p, SecretHasher.MinimumIterations))).Value;
}

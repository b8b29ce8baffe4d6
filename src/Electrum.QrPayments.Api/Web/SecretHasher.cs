using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Electrum.QrPayments.Api.Web;

/// <summary>
/// PBKDF2-HMAC-SHA256 secrets in the form <c>pbkdf2-sha256$iterations$salt$hash</c> (base64).
/// </summary>
public static class SecretHasher
{
    public const string Prefix = "pbkdf2-sha256$";
    public const int DefaultIterations = 600_000;

    /// <summary>Fewer iterations than this make offline guessing of a leaked hash cheap; the service refuses them.</summary>
    public const int MinimumIterations = 100_000;

    private const int SaltBytes = 16;
    private const int HashBytes = 32;

    public static string Hash(string password, int iterations = DefaultIterations)
    {
        ArgumentNullException.ThrowIfNull(password);
        var salt = RandomNumberGenerator.GetBytes(SaltBytes);
        var hash = Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(password), salt, iterations, HashAlgorithmName.SHA256, HashBytes);
        return Format(iterations, salt, hash);
    }

    /// <summary>
    /// A well-formed hash that no password matches (its hash part is random), for spending on an
    /// unknown user name the same work as on a known one. Costs nothing to make.
    /// </summary>
    public static string Decoy(int iterations) =>
        Format(iterations, RandomNumberGenerator.GetBytes(SaltBytes), RandomNumberGenerator.GetBytes(HashBytes));

    public static bool IsHash(string secret) => secret.StartsWith(Prefix, StringComparison.Ordinal);

    /// <summary>The iteration count of a well-formed hash; null when the hash is malformed.</summary>
    public static int? Iterations(string stored) => TryParse(stored, out var iterations, out _, out _) ? iterations : null;

    /// <summary>Checks a password against a stored hash in constant time; a malformed hash never matches.</summary>
    public static bool Verify(string password, string stored)
    {
        if (!TryParse(stored, out var iterations, out var salt, out var expected))
        {
            return false;
        }

        var actual = Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(password), salt, iterations, HashAlgorithmName.SHA256, expected.Length);
        return CryptographicOperations.FixedTimeEquals(actual, expected);
    }

    private static string Format(int iterations, byte[] salt, byte[] hash) => string.Create(CultureInfo.InvariantCulture,
        $"{Prefix}{iterations}${Convert.ToBase64String(salt)}${Convert.ToBase64String(hash)}");

    private static bool TryParse(string stored, out int iterations, out byte[] salt, out byte[] expected)
    {
        salt = expected = [];
        var parts = stored.Split('$');
        if (parts.Length != 4 || !IsHash(stored) ||
            !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out iterations) || iterations < 1)
        {
            iterations = 0;
            return false;
        }

        try
        {
            salt = Convert.FromBase64String(parts[2]);
            expected = Convert.FromBase64String(parts[3]);
        }
        catch (FormatException)
        {
            return false;
        }

        return expected.Length > 0;
    }
}

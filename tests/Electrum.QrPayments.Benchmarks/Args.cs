using System.Globalization;

namespace Electrum.QrPayments.Benchmarks;

/// <summary>`--name value` pairs and bare flags.</summary>
internal sealed class Args(string[] args)
{
    public IReadOnlyList<string> All => args;

    public string Get(string name, string fallback) =>
        Array.IndexOf(args, name) is var i and >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;

    public int Int(string name, int fallback) => int.Parse(Get(name, fallback.ToString(CultureInfo.InvariantCulture)), CultureInfo.InvariantCulture);

    public bool Has(string flag) => args.Contains(flag, StringComparer.Ordinal);
}

using System.Globalization;
using System.Text;

namespace Electrum.QrPayments.Contracts.Emv;

/// <summary>One EMVCo data object: a two-digit tag and its value.</summary>
public readonly record struct TlvField(string Tag, string Value);

/// <summary>A payload that is not well-formed TLV, or a value that cannot be encoded.</summary>
public sealed class EmvFormatException(string message) : FormatException(message);

/// <summary>
/// The EMVCo merchant-presented TLV format: two-digit tag, two-digit length, value. Lengths
/// count characters (Unicode scalar values), not bytes; each value is 1 to 99 characters.
/// The checksum (tag 63) is CRC-16/CCITT-FALSE over the UTF-8 bytes of everything up to and
/// including "6304", written as four uppercase hex digits.
/// </summary>
public static class EmvTlv
{
    public const string CrcTag = "63";
    public const int MaxValueLength = 99;

    public static string Encode(IEnumerable<TlvField> fields)
    {
        ArgumentNullException.ThrowIfNull(fields);
        var builder = new StringBuilder();
        foreach (var (tag, value) in fields)
        {
            if (tag.Length != 2 || !char.IsAsciiDigit(tag[0]) || !char.IsAsciiDigit(tag[1]))
            {
                throw new EmvFormatException($"tag '{tag}' is not two digits");
            }

            var length = CharacterCount(value);
            if (length is < 1 or > MaxValueLength)
            {
                throw new EmvFormatException($"the value of tag {tag} is {length} characters; it must be 1 to {MaxValueLength}");
            }

            builder.Append(tag).Append(length.ToString("00", CultureInfo.InvariantCulture)).Append(value);
        }

        return builder.ToString();
    }

    /// <summary>Encodes the fields and appends tag 63 with the checksum of the result.</summary>
    public static string EncodeWithCrc(IEnumerable<TlvField> fields)
    {
        var body = Encode(fields) + CrcTag + "04";
        return body + Crc(body);
    }

    public static IReadOnlyList<TlvField> Decode(string payload) =>
        TryDecode(payload, out var fields, out var error) ? fields : throw new EmvFormatException(error!);

    public static bool TryDecode(string payload, out IReadOnlyList<TlvField> fields, out string? error)
    {
        ArgumentNullException.ThrowIfNull(payload);
        var list = new List<TlvField>();
        fields = list;
        var i = 0;
        while (i < payload.Length)
        {
            if (i + 4 > payload.Length ||
                !IsDigits(payload.AsSpan(i, 4)))
            {
                error = $"no tag and length at position {i}";
                return false;
            }

            var tag = payload.Substring(i, 2);
            var length = int.Parse(payload.AsSpan(i + 2, 2), NumberStyles.None, CultureInfo.InvariantCulture);
            var start = i + 4;
            var end = AdvanceCharacters(payload, start, length);
            if (length == 0 || end < 0)
            {
                error = $"tag {tag} at position {i} declares {length} characters but the payload does not hold them";
                return false;
            }

            list.Add(new TlvField(tag, payload[start..end]));
            i = end;
        }

        error = null;
        return true;
    }

    /// <summary>The value of the first field with this tag, or null.</summary>
    public static string? Find(IEnumerable<TlvField> fields, string tag) =>
        fields.Where(f => f.Tag == tag).Select(f => f.Value).FirstOrDefault();

    /// <summary>True when the payload ends in tag 63 and that checksum is right.</summary>
    public static bool HasValidCrc(string payload)
    {
        ArgumentNullException.ThrowIfNull(payload);
        return payload.Length >= 8 &&
               payload.AsSpan(payload.Length - 8, 4).SequenceEqual("6304") &&
               string.Equals(Crc(payload[..^4]), payload[^4..], StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF) of the text's UTF-8 bytes, as 4 uppercase hex digits.</summary>
    public static string Crc(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        ushort crc = 0xFFFF;
        foreach (var b in Encoding.UTF8.GetBytes(text))
        {
            crc ^= (ushort)(b << 8);
            for (var bit = 0; bit < 8; bit++)
            {
                crc = (crc & 0x8000) != 0 ? (ushort)((crc << 1) ^ 0x1021) : (ushort)(crc << 1);
            }
        }

        return crc.ToString("X4", CultureInfo.InvariantCulture);
    }

    public static int CharacterCount(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var count = 0;
        foreach (var _ in value.EnumerateRunes())
        {
            count++;
        }

        return count;
    }

    private static bool IsDigits(ReadOnlySpan<char> span)
    {
        foreach (var c in span)
        {
            if (!char.IsAsciiDigit(c))
            {
                return false;
            }
        }

        return true;
    }

    // The UTF-16 index after `count` characters from `start`, or -1 when the text ends first.
    private static int AdvanceCharacters(string text, int start, int count)
    {
        var i = start;
        for (var n = 0; n < count; n++)
        {
            if (i >= text.Length)
            {
                return -1;
            }

            i += char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]) ? 2 : 1;
        }

        return i;
    }
}

using System.Globalization;
using Electrum.QrPayments.Api.Web;
using Electrum.QrPayments.Contracts.Emv;
using Electrum.QrPayments.Contracts.Models;

namespace Electrum.QrPayments.Api.QrCodes;

/// <summary>What a QR payload is built from, already checked for shape by the request validator.</summary>
public sealed record QrPayloadInput(
    QrScheme Scheme,
    string ProviderId,
    string TemplateTag,
    string TranId,
    Merchant? Merchant,
    LedgerAmount? Value,
    string? Currency,
    bool AmountIsFixed);

/// <summary>
/// Builds the payload for each scheme. A value that would not fit its TLV field is refused with
/// the field's wire name: a truncated QR code would pay the wrong merchant or amount.
/// </summary>
public static class QrPayloadBuilder
{
    public static string Build(QrPayloadInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var template = Field(input.TemplateTag,
            Fit(EncodeTemplate(input), "qrProperties.uuid", "the provider id is too long for the merchant-account template"),
            "qrProperties.uuid");

        if (input.Scheme == QrScheme.ElectrumMerchantMinimal)
        {
            return EmvTlv.Encode([new TlvField("00", "01"), template]);
        }

        var strict = input.Scheme == QrScheme.EmvcoMerchant;
        var name = input.Merchant?.MerchantName;
        var fields = new List<TlvField>
        {
            new("00", "01"),
            new("01", input.AmountIsFixed ? "12" : "11"),
            template,
        };
        Add(fields, "52", input.Merchant?.MerchantType, "originator.merchant.merchantType", strict);
        Add(fields, "53", input.Currency, "qrProperties.value.currency", strict);
        if (input.Value?.Amount is { } amount)
        {
            var text = FormatAmount(amount, input.Value.Currency!);
            if (text.Length > 13)
            {
                throw QrException.Format("qrProperties.value.amount", "the amount does not fit the 13 characters of EMVCo tag 54");
            }

            fields.Add(new TlvField("54", text));
        }

        Add(fields, "58", name?.Country, "originator.merchant.merchantName.country", strict);
        Add(fields, "59", name?.Name, "originator.merchant.merchantName.name", strict);
        Add(fields, "60", name?.City, "originator.merchant.merchantName.city", strict);
        return EmvTlv.EncodeWithCrc(fields);
    }

    /// <summary>Minor units to the decimal major-unit string EMVCo tag 54 carries (79995, "710" -> "799.95").</summary>
    public static string FormatAmount(long minor, string currency)
    {
        var exponent = CurrencyExponent(currency);
        if (exponent == 0)
        {
            return minor.ToString(CultureInfo.InvariantCulture);
        }

        var scale = (long)Math.Pow(10, exponent);
        return string.Create(CultureInfo.InvariantCulture,
            $"{minor / scale}.{(minor % scale).ToString(new string('0', exponent), CultureInfo.InvariantCulture)}");
    }

    /// <summary>ISO 4217 minor-unit exponent by numeric code; 2 unless listed.</summary>
    public static int CurrencyExponent(string currency) => currency switch
    {
        "108" or "152" or "174" or "262" or "324" or "352" or "392" or "410" or "548" or "600" or "646" or "704"
            or "800" or "950" or "952" or "953" => 0,
        "048" or "368" or "400" or "414" or "434" or "512" or "788" => 3,
        "927" or "990" => 4,
        _ => 2,
    };

    private static string EncodeTemplate(QrPayloadInput input)
    {
        if (EmvTlv.CharacterCount(input.ProviderId) > EmvTlv.MaxValueLength)
        {
            throw QrException.Format("qrProperties.uuid", "the provider id is longer than 99 characters");
        }

        return EmvTlv.Encode([new TlvField("00", input.ProviderId), new TlvField("01", input.TranId)]);
    }

    private static string Fit(string value, string field, string reason) =>
        EmvTlv.CharacterCount(value) <= EmvTlv.MaxValueLength ? value : throw QrException.Format(field, reason);

    private static TlvField Field(string tag, string value, string field) =>
        new(tag, Fit(value, field, "longer than the 99 characters a QR field can hold"));

    // EMVCO_MERCHANT needs every field; PSEUDO_EMVCO_MERCHANT leaves out what the request cannot supply.
    private static void Add(List<TlvField> fields, string tag, string? value, string field, bool required)
    {
        if (string.IsNullOrEmpty(value))
        {
            if (required)
            {
                throw QrException.Format(field, "required by the EMVCO_MERCHANT scheme");
            }

            return;
        }

        fields.Add(Field(tag, value, field));
    }
}

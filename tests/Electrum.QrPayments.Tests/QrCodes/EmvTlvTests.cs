using Electrum.QrPayments.Api.QrCodes;
using Electrum.QrPayments.Api.Web;
using Electrum.QrPayments.Contracts.Emv;

namespace Electrum.QrPayments.Tests.QrCodes;

public class EmvTlvTests
{
    private const string ElectrumExampleTranId = "f82d7f64feea4f2ab24da94aaf5c2941";

    public sealed record Vector(string Payload, string Source, bool CrcValid, string CrcGiven, string CrcComputed, bool TlvWellFormed);

    public static TheoryData<string> VectorPayloads()
    {
        var data = new TheoryData<string>();
        foreach (var vector in LoadVectors())
        {
            data.Add(vector.Payload);
        }

        return data;
    }

    private static List<Vector> LoadVectors() =>
        JsonSerializer.Deserialize<List<Vector>>(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Fixtures", "emv-vectors.json")),
            new JsonSerializerOptions(JsonSerializerDefaults.Web))!;

    private static Vector VectorFor(string payload) => LoadVectors().Single(v => v.Payload == payload);

    [Theory]
    [MemberData(nameof(VectorPayloads))]
    public void Decode_PublicVector_IsWellFormedAndCrcVerdictMatches(string payload)
    {
        var vector = VectorFor(payload);

        var fields = EmvTlv.Decode(payload);

        Assert.Equal(vector.TlvWellFormed, fields.Count > 0);
        Assert.Equal("63", fields[^1].Tag);
        Assert.Equal(vector.CrcGiven, fields[^1].Value);
        Assert.Equal(vector.CrcComputed, EmvTlv.Crc(payload[..^4]));
        Assert.Equal(vector.CrcValid, EmvTlv.HasValidCrc(payload));
    }

    [Theory]
    [MemberData(nameof(VectorPayloads))]
    public void Encode_DecodedVector_ReproducesPayload(string payload) =>
        Assert.Equal(payload, EmvTlv.Encode(EmvTlv.Decode(payload)));

    [Fact]
    public void Build_ElectrumMinimalWithDocumentedTranId_ProducesDocumentedPayload()
    {
        var payload = QrPayloadBuilder.Build(Input(QrScheme.ElectrumMerchantMinimal, value: null));

        Assert.Equal("00020126500010za.co.elec0132f82d7f64feea4f2ab24da94aaf5c2941", payload);
    }

    [Fact]
    public void Build_EmvcoWithFixedAmount_MatchesIndependentlyComputedPayload()
    {
        // Expected string and CRC computed by a separate implementation, not by this codebase.
        var payload = QrPayloadBuilder.Build(Input(QrScheme.EmvcoMerchant, new LedgerAmount { Amount = 10000, Currency = "710" }));

        Assert.Equal(
            "00020101021226500010za.co.elec0132f82d7f64feea4f2ab24da94aaf5c29415204541153037105406100.005802ZA5910Test Store6009Cape Town6304202A",
            payload);
        Assert.True(EmvTlv.HasValidCrc(payload));
    }

    [Fact]
    public void Build_PseudoEmvcoWithoutCurrency_LeavesOutWhatIsMissingAndKeepsCrc()
    {
        var payload = QrPayloadBuilder.Build(Input(QrScheme.PseudoEmvcoMerchant, value: null, currency: null));

        Assert.Equal(
            "00020101021126500010za.co.elec0132f82d7f64feea4f2ab24da94aaf5c2941520454115802ZA5910Test Store6009Cape Town6304C849",
            payload);
    }

    [Fact]
    public void Build_EmvcoWithoutCurrency_RefusesNamingTheField()
    {
        var error = Assert.Throws<QrException>(() => QrPayloadBuilder.Build(Input(QrScheme.EmvcoMerchant, value: null, currency: null)));

        Assert.Equal(ErrorType.FormatError, error.ErrorType);
        Assert.Equal("qrProperties.value.currency", error.Detail!["field"]!.GetValue<string>());
    }

    [Fact]
    public void Build_ProviderIdTooLongForTemplate_RefusesInsteadOfTruncating()
    {
        var input = Input(QrScheme.ElectrumMerchantMinimal, value: null) with { ProviderId = new string('p', 60) };

        var error = Assert.Throws<QrException>(() => QrPayloadBuilder.Build(input));

        Assert.Equal("qrProperties.uuid", error.Detail!["field"]!.GetValue<string>());
    }

    [Theory]
    [InlineData(79995, "710", "799.95")]
    [InlineData(5, "710", "0.05")]
    [InlineData(1000, "392", "1000")]
    [InlineData(12345, "414", "12.345")]
    public void FormatAmount_MinorUnits_UsesCurrencyExponent(long minor, string currency, string expected) =>
        Assert.Equal(expected, QrPayloadBuilder.FormatAmount(minor, currency));

    [Theory]
    [InlineData("0002")]
    [InlineData("00020")]
    [InlineData("0005abc")]
    [InlineData("AB02xx")]
    [InlineData("0000")]
    public void TryDecode_MalformedPayload_ReportsError(string payload)
    {
        Assert.False(EmvTlv.TryDecode(payload, out _, out var error));
        Assert.NotNull(error);
    }

    [Fact]
    public void Encode_ValueOver99Characters_Throws() =>
        Assert.Throws<EmvFormatException>(() => EmvTlv.Encode([new TlvField("59", new string('x', 100))]));

    [Fact]
    public void Encode_NonAsciiValue_CountsCharactersNotBytes() =>
        Assert.Equal("0104最佳运输", EmvTlv.Encode([new TlvField("01", "最佳运输")]));

    private static QrPayloadInput Input(QrScheme scheme, LedgerAmount? value, string? currency = "710") => new(
        scheme, "za.co.elec", "26", ElectrumExampleTranId, Messages.Originator().Merchant, value,
        value?.Currency ?? currency, AmountIsFixed: value is not null);
}

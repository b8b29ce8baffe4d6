using System.Diagnostics;

namespace Electrum.QrPayments.Tests.QrCodes;

public class QrImageTests
{
    [ZbarTheory]
    [InlineData(QrScheme.ElectrumMerchantMinimal)]
    [InlineData(QrScheme.EmvcoMerchant)]
    public async Task GetQrCodeImage_Png_DecodesBackToThePayload(QrScheme scheme)
    {
        await using var service = new QrService(TestDatabase.Create(Db.Sqlite));
        var code = (await service.Api().CreateQrCodeAsync(Messages.CreateQrCode(properties: new QrProperties
        {
            Value = new LedgerAmount { Amount = 12345, Currency = "710" },
            Scheme = scheme,
        }))).Body!;
        using var http = service.PosHttp();

        var response = await http.GetAsync($"/qr/v1/qrCodes/{code.TranId}/image?format=png");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("image/png", response.Content.Headers.ContentType!.MediaType);
        var png = await response.Content.ReadAsByteArrayAsync();
        Assert.Equal(code.QrCode, await DecodeWithZbar(png));
    }

    [Fact]
    public async Task GetQrCodeImage_Svg_ReturnsSvgDocument()
    {
        await using var service = new QrService(TestDatabase.Create(Db.Sqlite));
        var code = (await service.Api().CreateQrCodeAsync(Messages.CreateQrCode())).Body!;
        using var http = service.PosHttp();

        var response = await http.GetAsync($"/qr/v1/qrCodes/{code.TranId}/image?format=svg");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("image/svg+xml", response.Content.Headers.ContentType!.MediaType);
        Assert.Contains("<svg", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task GetQrCodeImage_UnknownFormat_Returns400NamingFormat()
    {
        await using var service = new QrService(TestDatabase.Create(Db.Sqlite));
        var code = (await service.Api().CreateQrCodeAsync(Messages.CreateQrCode())).Body!;
        using var http = service.PosHttp();

        var response = await http.GetAsync($"/qr/v1/qrCodes/{code.TranId}/image?format=gif");

        await CreateQrCodeBadInputTests.AssertFormatError(response, "format", HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task GetQrCodeImage_AnotherClientsCode_Returns404()
    {
        await using var service = new QrService(TestDatabase.Create(Db.Sqlite));
        var code = (await service.Api().CreateQrCodeAsync(Messages.CreateQrCode())).Body!;
        using var http = service.CreateClient(QrService.OtherClient, QrService.OtherClientPassword);

        var response = await http.GetAsync($"/qr/v1/qrCodes/{code.TranId}/image");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal(ErrorType.UnableToLocateRecord, (await response.Content.ReadFromJsonAsync<ErrorDetail>(QrJson.Options))!.ErrorType);
    }

    [Fact]
    public async Task GetQrCodeImage_UnknownTranId_Returns404()
    {
        await using var service = new QrService(TestDatabase.Create(Db.Sqlite));
        using var http = service.PosHttp();

        var response = await http.GetAsync($"/qr/v1/qrCodes/{Guid.NewGuid():N}/image");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    // zbarimg (Debian zbar-tools) is an independent decoder: the image must scan as a phone would.
    private static async Task<string> DecodeWithZbar(byte[] png)
    {
        var path = Path.Combine(Path.GetTempPath(), $"qr-{Guid.NewGuid():N}.png");
        await File.WriteAllBytesAsync(path, png);
        try
        {
            using var process = Process.Start(new ProcessStartInfo("zbarimg", ["--quiet", "--raw", path])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            }) ?? throw new InvalidOperationException("zbarimg did not start (install zbar-tools)");
            var output = await process.StandardOutput.ReadToEndAsync();
            await process.WaitForExitAsync();
            Assert.True(process.ExitCode == 0, $"zbarimg exit {process.ExitCode}: {await process.StandardError.ReadToEndAsync()}");
            return output.TrimEnd('\n', '\r');
        }
        finally
        {
            File.Delete(path);
        }
    }
}

/// <summary>Runs where zbarimg is installed, and always in CI (QR_REQUIRE_TOOLS=1), where a missing tool fails.</summary>
public sealed class ZbarTheoryAttribute : TheoryAttribute
{
    public ZbarTheoryAttribute()
    {
        var onPath = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':')
            .Any(dir => File.Exists(Path.Combine(dir, "zbarimg")));
        if (!onPath && Environment.GetEnvironmentVariable("QR_REQUIRE_TOOLS") != "1")
        {
            Skip = "zbarimg not installed (apt-get install zbar-tools)";
        }
    }
}

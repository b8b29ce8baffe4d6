using Electrum.QrPayments.Api.Web;

namespace Electrum.QrPayments.Tests.Web;

public class AuthTests
{
    [Fact]
    public async Task CreateQrCode_NoCredentials_Returns401WithChallenge()
    {
        await using var service = new QrService(TestDatabase.Create(Db.Sqlite));
        using var http = service.CreateClient();

        var response = await http.PostAsJsonAsync("/qr/v1/qrCodes", Messages.CreateQrCode(), QrJson.Options);

        await AssertUnauthorized(response);
        Assert.Equal(0, await service.CountQrCodesAsync());
    }

    [Theory]
    [InlineData(QrService.Client, "wrong-password")]
    [InlineData("nobody", QrService.ClientPassword)]
    [InlineData("", "")]
    public async Task CreateQrCode_BadCredentials_Returns401(string user, string password)
    {
        await using var service = new QrService(TestDatabase.Create(Db.Sqlite));
        using var http = service.CreateClient(user, password);

        var response = await http.PostAsJsonAsync("/qr/v1/qrCodes", Messages.CreateQrCode(), QrJson.Options);

        await AssertUnauthorized(response);
    }

    [Theory]
    [InlineData("Basic not-base64!")]
    [InlineData("Basic cG9zLTE=")]
    [InlineData("Bearer abc")]
    public async Task CreateQrCode_MalformedAuthorizationHeader_Returns401(string header)
    {
        await using var service = new QrService(TestDatabase.Create(Db.Sqlite));
        using var http = service.CreateClient();
        http.DefaultRequestHeaders.TryAddWithoutValidation("Authorization", header);

        var response = await http.PostAsJsonAsync("/qr/v1/qrCodes", Messages.CreateQrCode(), QrJson.Options);

        await AssertUnauthorized(response);
    }

    [Theory]
    [InlineData(QrService.Partner, QrService.PartnerPassword)]
    [InlineData(QrService.Operator, QrService.OperatorPassword)]
    public async Task CreateQrCode_CallerNotAClient_Returns403(string user, string password)
    {
        await using var service = new QrService(TestDatabase.Create(Db.Sqlite));
        using var http = service.CreateClient(user, password);

        var response = await http.PostAsJsonAsync("/qr/v1/qrCodes", Messages.CreateQrCode(user), QrJson.Options);

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.NotNull((await response.Content.ReadFromJsonAsync<ErrorDetail>(QrJson.Options))!.ErrorType);
        Assert.Equal(0, await service.CountQrCodesAsync());
    }

    [Fact]
    public async Task CreateQrCode_ClientIdNotTheUserName_Returns403()
    {
        await using var service = new QrService(TestDatabase.Create(Db.Sqlite));

        var response = await service.Api().CreateQrCodeAsync(Messages.CreateQrCode(QrService.OtherClient));

        Assert.Equal(HttpStatusCode.Forbidden, response.Status);
        Assert.Equal(ErrorType.GeneralError, response.Error!.ErrorType);
        Assert.Equal(0, await service.CountQrCodesAsync());
    }

    [Fact]
    public async Task CreateQrCode_SecondClientWithOwnCredentials_IsServed()
    {
        await using var service = new QrService(TestDatabase.Create(Db.Sqlite));

        var response = await service.Api(QrService.OtherClient, QrService.OtherClientPassword)
            .CreateQrCodeAsync(Messages.CreateQrCode(QrService.OtherClient));

        Assert.Equal(HttpStatusCode.Created, response.Status);
    }

    [Fact]
    public async Task Authenticate_RepeatedCalls_StillRejectWrongPasswordAfterSuccess()
    {
        await using var service = new QrService(TestDatabase.Create(Db.Sqlite));
        Assert.Equal(HttpStatusCode.Created, (await service.Api().CreateQrCodeAsync(Messages.CreateQrCode())).Status);

        var wrong = await service.Api(QrService.Client, QrService.ClientPassword + "x").CreateQrCodeAsync(Messages.CreateQrCode());

        Assert.Equal(HttpStatusCode.Unauthorized, wrong.Status);
    }

    [Fact]
    public async Task Startup_HashUnder100000Iterations_RefusesNamingTheUser()
    {
        var weak = SecretHasher.Hash(QrService.OtherClientPassword, SecretHasher.MinimumIterations - 1);
        await using var service = new QrService(TestDatabase.Create(Db.Sqlite),
            new Dictionary<string, string?> { ["QrPayments:Clients:1:Secret"] = weak });

        var error = Assert.ThrowsAny<Exception>(() => service.CreateClient().GetAsync("/health/live").GetAwaiter().GetResult()).ToString();

        Assert.Contains($"the secret of '{QrService.OtherClient}' is a PBKDF2 hash of 99999 iterations", error, StringComparison.Ordinal);
        Assert.DoesNotContain(weak.Split('$')[3], error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UnknownPath_Authenticated_Returns404ErrorDetail()
    {
        await using var service = new QrService(TestDatabase.Create(Db.Sqlite));
        using var http = service.PosHttp();

        var response = await http.GetAsync("/qr/v1/nothing-here");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal(ErrorType.FunctionNotSupported, (await response.Content.ReadFromJsonAsync<ErrorDetail>(QrJson.Options))!.ErrorType);
    }

    [Fact]
    public async Task QrCodes_WrongMethod_Returns405ErrorDetail()
    {
        await using var service = new QrService(TestDatabase.Create(Db.Sqlite));
        using var http = service.PosHttp();

        var response = await http.DeleteAsync("/qr/v1/qrCodes");

        Assert.Equal(HttpStatusCode.MethodNotAllowed, response.StatusCode);
        Assert.Equal(ErrorType.FunctionNotSupported, (await response.Content.ReadFromJsonAsync<ErrorDetail>(QrJson.Options))!.ErrorType);
    }

    private static async Task AssertUnauthorized(HttpResponseMessage response)
    {
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Contains(response.Headers.WwwAuthenticate, h => h.Scheme == "Basic");
        var error = await response.Content.ReadFromJsonAsync<ErrorDetail>(QrJson.Options);
        Assert.NotNull(error!.ErrorType);
        Assert.False(string.IsNullOrEmpty(error.Id));
    }
}

using Electrum.QrPayments.Api.Web;
using Microsoft.Extensions.DependencyInjection;

namespace Electrum.QrPayments.Tests.Web;

/// <summary>
/// Logins that need a PBKDF2 check are throttled per address and per user name from an address; logins already
/// verified never are. Throttled calls get 429 with Retry-After and cost no PBKDF2 work.
/// </summary>
public class LoginThrottleTests
{
    private const string UnknownTranId = "0123456789abcdef0123456789abcdef";

    [Fact]
    public async Task Login_BurstOfWrongPasswordsDuringVerifiedLifecycle_BurstThrottledLifecycleCompletes()
    {
        await using var flow = await Flow.StartAsync(Db.Sqlite);
        var store = flow.Service.Services.GetRequiredService<CredentialStore>();
        // The POS and the partner have logged in before (as they do all day), so their logins are verified.
        await flow.CodeAsync();
        Assert.Equal(HttpStatusCode.BadRequest, (await flow.ScanAsync(UnknownTranId)).Status);
        var checksBefore = store.PasswordChecks;
        using var http = flow.Service.CreateClient();

        // Wrong passwords for the lifecycle's own user names and unknown ones, from the same address.
        var burst = Task.WhenAll(Enumerable.Range(0, 300).Select(i => WrongLoginAsync(http, i)));
        var code = await flow.CodeAsync();
        var payment = Flow.PaymentFor(code.TranId!);
        var paid = await flow.PayAndScanAsync(payment);
        var confirmed = await flow.Pos.ConfirmPaymentAsync(Flow.ConfirmationOf(payment.Id!));
        var answers = await burst;

        Assert.Equal(HttpStatusCode.Created, paid.Status);
        Assert.Equal(HttpStatusCode.Accepted, confirmed.Status);
        Assert.All(answers, a => Assert.True(a.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.TooManyRequests, a.StatusCode.ToString()));
        var throttled = answers.Where(a => a.StatusCode == HttpStatusCode.TooManyRequests).ToList();
        Assert.NotEmpty(throttled);
        foreach (var answer in throttled)
        {
            await AssertThrottledAsync(answer);
        }

        // Only the calls answered 401 cost a PBKDF2 check; the throttled ones and the verified lifecycle none.
        Assert.Equal(answers.Count(a => a.StatusCode == HttpStatusCode.Unauthorized), store.PasswordChecks - checksBefore);
        Assert.Contains(flow.Service.Logs.Lines, l => l.StartsWith("Warning", StringComparison.Ordinal) && l.Contains("Failed logins throttled", StringComparison.Ordinal));
        Assert.DoesNotContain(flow.Service.Logs.Lines, l => l.Contains("wrong-password-", StringComparison.Ordinal) ||
                                                            l.Contains(QrService.Basic(QrService.Client, "wrong-password-0").Parameter!, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Login_ManyUnknownUserNamesFromOneAddress_ThatAddressThrottled()
    {
        await using var service = new QrService(TestDatabase.Create(Db.Sqlite), Throttle(perUser: 100, perAddress: 5));
        var attacker = IPAddress.Parse("203.0.113.7");

        var answers = new List<HttpResponseMessage>();
        for (var i = 0; i < 6; i++)
        {
            using var http = service.CreateClient(attacker, $"guess-{i}", "password");
            answers.Add(await http.GetAsync("/qr/v1/nothing-here"));
        }

        using var elsewhere = service.CreateClient(IPAddress.Parse("203.0.113.8"), "guess-6", "password");
        var fromElsewhere = await elsewhere.GetAsync("/qr/v1/nothing-here");

        Assert.All(answers.Take(5), a => Assert.Equal(HttpStatusCode.Unauthorized, a.StatusCode));
        await AssertThrottledAsync(answers[5]);
        Assert.Equal(HttpStatusCode.Unauthorized, fromElsewhere.StatusCode);
    }

    [Fact]
    public async Task Login_AddressesInOneIpv6Slash64_ShareOneAllowance()
    {
        await using var service = new QrService(TestDatabase.Create(Db.Sqlite), Throttle(perUser: 100, perAddress: 1));

        var first = await AttemptAsync(service, "2001:db8:0:1::1", "guess-1");
        var sameNetwork = await AttemptAsync(service, "2001:db8:0:1:ffff::2", "guess-2");
        var otherNetwork = await AttemptAsync(service, "2001:db8:0:2::1", "guess-3");

        Assert.Equal(HttpStatusCode.Unauthorized, first);
        Assert.Equal(HttpStatusCode.TooManyRequests, sameNetwork);
        Assert.Equal(HttpStatusCode.Unauthorized, otherNetwork);
    }

    [Fact]
    public async Task Login_VerifiedPasswordWhileItsUserNameIsThrottled_StillAccepted()
    {
        await using var service = new QrService(TestDatabase.Create(Db.Sqlite), Throttle(perUser: 3, perAddress: 1000));
        Assert.Equal(HttpStatusCode.Created, (await service.Api().CreateQrCodeAsync(Messages.CreateQrCode())).Status);

        var wrong = new List<HttpResponseMessage>();
        for (var i = 0; i < 3; i++)
        {
            using var http = service.CreateClient(QrService.Client, $"wrong-password-{i}");
            wrong.Add(await http.GetAsync("/qr/v1/nothing-here"));
        }

        var right = await service.Api().CreateQrCodeAsync(Messages.CreateQrCode());
        using var stillWrong = service.CreateClient(QrService.Client, "wrong-password-3");
        var afterwards = await stillWrong.GetAsync("/qr/v1/nothing-here");

        // The first login took one of the three permits; two wrong passwords took the rest.
        Assert.Equal([HttpStatusCode.Unauthorized, HttpStatusCode.Unauthorized, HttpStatusCode.TooManyRequests], wrong.Select(w => w.StatusCode));
        await AssertThrottledAsync(wrong[2]);
        Assert.Equal(HttpStatusCode.Created, right.Status);
        Assert.Equal(HttpStatusCode.TooManyRequests, afterwards.StatusCode);
    }

    [Fact]
    public async Task Login_UserNameGuessedFromAnotherAddress_FirstRightLoginFromItsOwnAddressAccepted()
    {
        await using var service = new QrService(TestDatabase.Create(Db.Sqlite), Throttle(perUser: 3, perAddress: 1000));
        var attacker = IPAddress.Parse("203.0.113.7");
        var till = IPAddress.Parse("198.51.100.1");

        var guesses = new List<HttpStatusCode>();
        for (var i = 0; i < 5; i++)
        {
            using var http = service.CreateClient(attacker, QrService.Client, $"wrong-password-{i}");
            guesses.Add((await http.GetAsync("/qr/v1/nothing-here")).StatusCode);
        }

        // The till has not logged in since the service started: its login needs a password check.
        using var pos = service.CreateClient(till, QrService.Client, QrService.ClientPassword);
        var right = await pos.GetAsync("/qr/v1/nothing-here");

        Assert.Equal([HttpStatusCode.Unauthorized, HttpStatusCode.Unauthorized, HttpStatusCode.Unauthorized,
            HttpStatusCode.TooManyRequests, HttpStatusCode.TooManyRequests], guesses);
        Assert.Equal(HttpStatusCode.NotFound, right.StatusCode); // authenticated: no such operation
    }

    [Fact]
    public async Task Login_ManyConcurrentFirstLoginsWithTheRightPassword_AllAcceptedWithOneCheck()
    {
        await using var service = new QrService(TestDatabase.Create(Db.Sqlite), Throttle(perUser: 1, perAddress: 1));
        var store = service.Services.GetRequiredService<CredentialStore>();
        var clients = Enumerable.Range(0, 20).Select(_ => service.PosHttp()).ToList();

        var answers = await Task.WhenAll(clients.Select(c => c.GetAsync("/qr/v1/nothing-here")));

        // 404 means authenticated (no such operation); a refused login would be 401 or 429.
        Assert.All(answers, a => Assert.Equal(HttpStatusCode.NotFound, a.StatusCode));
        Assert.Equal(1, store.PasswordChecks);
        clients.ForEach(c => c.Dispose());
    }

    // A short queue refuses at once; a long one refuses those that wait longer than MaxCheckWait.
    [Theory]
    [InlineData(2, "00:00:30")]
    [InlineData(100, "00:00:00.200")]
    public async Task Login_GuessesFromManyAddressesAtOnce_ChecksBeyondTheProcessCapThrottled(int queued, string maxWait)
    {
        // Every address and user name has permits to spare: only the cap on checks at once can refuse.
        var settings = Throttle(perUser: 100, perAddress: 100);
        settings["QrPayments:LoginThrottle:MaxConcurrentChecks"] = "1";
        settings["QrPayments:LoginThrottle:MaxQueuedChecks"] = queued.ToString(System.Globalization.CultureInfo.InvariantCulture);
        settings["QrPayments:LoginThrottle:MaxCheckWait"] = maxWait;
        await using var service = new QrService(TestDatabase.Create(Db.Sqlite), settings);
        var store = service.Services.GetRequiredService<CredentialStore>();

        var answers = await Task.WhenAll(Enumerable.Range(0, 40).Select(i =>
            AttemptAsync(service, $"203.0.113.{i + 1}", $"guess-{i}")));

        Assert.All(answers, a => Assert.True(a is HttpStatusCode.Unauthorized or HttpStatusCode.TooManyRequests, a.ToString()));
        // One check at a time (about 30 ms each): of 40 at once, those that cannot wait are refused without a check.
        Assert.Contains(HttpStatusCode.TooManyRequests, answers);
        Assert.Equal(answers.Count(a => a == HttpStatusCode.Unauthorized), store.PasswordChecks);
        Assert.Contains(service.Logs.Lines, l => l.Contains("the cap on checks at once", StringComparison.Ordinal) &&
                                                 l.Contains("(not configured)", StringComparison.Ordinal));
        // A name that is not configured may be a password typed in the wrong field: never logged.
        Assert.DoesNotContain(service.Logs.Lines, l => l.Contains("guess-", StringComparison.Ordinal));
        using var later = service.CreateClient(IPAddress.Parse("198.51.100.1"), QrService.Client, QrService.ClientPassword);
        Assert.Equal(HttpStatusCode.NotFound, (await later.GetAsync("/qr/v1/nothing-here")).StatusCode);
    }

    [Theory]
    [InlineData("PermitsPerAddress", "0")]
    [InlineData("MaxConcurrentChecks", "0")]
    [InlineData("MaxQueuedChecks", "-1")]
    [InlineData("MaxCheckWait", "00:00:00")]
    public async Task Startup_OutOfRangeThrottleSetting_Refuses(string setting, string value)
    {
        await using var service = new QrService(TestDatabase.Create(Db.Sqlite),
            new Dictionary<string, string?> { ["QrPayments:LoginThrottle:" + setting] = value });

        var error = Assert.ThrowsAny<Exception>(() => service.CreateClient().GetAsync("/health/live").GetAwaiter().GetResult());

        Assert.Contains("QrPayments:LoginThrottle", error.ToString(), StringComparison.Ordinal);
    }

    // A long period, so nothing comes back while a test runs.
    private static Dictionary<string, string?> Throttle(int perUser, int perAddress) => new()
    {
        ["QrPayments:LoginThrottle:PermitsPerUser"] = perUser.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["QrPayments:LoginThrottle:PermitsPerAddress"] = perAddress.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["QrPayments:LoginThrottle:ReplenishPeriod"] = "00:01:00",
    };

    private static async Task<HttpStatusCode> AttemptAsync(QrService service, string address, string user)
    {
        using var http = service.CreateClient(IPAddress.Parse(address), user, "password");
        return (await http.GetAsync("/qr/v1/nothing-here")).StatusCode;
    }

    private static Task<HttpResponseMessage> WrongLoginAsync(HttpClient http, int i)
    {
        var (user, password) = (i % 3) switch
        {
            0 => (QrService.Client, $"wrong-password-{i}"),
            1 => (QrService.Partner, $"wrong-password-{i}"),
            _ => ($"guess-{i}", $"wrong-password-{i}"),
        };
        var request = new HttpRequestMessage(HttpMethod.Post, "/qr/v1/qrCodes")
        {
            Content = JsonContent.Create(Messages.CreateQrCode(), options: QrJson.Options),
        };
        request.Headers.Authorization = QrService.Basic(user, password);
        return http.SendAsync(request);
    }

    private static async Task AssertThrottledAsync(HttpResponseMessage response)
    {
        Assert.Equal(HttpStatusCode.TooManyRequests, response.StatusCode);
        var wait = response.Headers.RetryAfter?.Delta;
        Assert.NotNull(wait);
        Assert.InRange(wait.Value, TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(1));
        Assert.Empty(response.Headers.WwwAuthenticate);
        var error = await response.Content.ReadFromJsonAsync<ErrorDetail>(QrJson.Options);
        Assert.Equal(ErrorType.GeneralError, error!.ErrorType);
        Assert.InRange(error.ErrorMessage!.Length, 1, 40);
        Assert.Contains("too many failed logins", error.DetailMessage!["reason"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.False(string.IsNullOrEmpty(error.Id));
    }
}

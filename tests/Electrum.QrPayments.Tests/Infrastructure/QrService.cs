using System.Net;
using System.Net.Http.Headers;
using Electrum.QrPayments.Api.Persistence;
using Electrum.QrPayments.Contracts.Client;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Electrum.QrPayments.Tests.Infrastructure;

/// <summary>
/// The service under WebApplicationFactory with its own database and credentials. Secrets are
/// configured as PBKDF2 hashes, as production requires; the environment is not Development.
/// </summary>
// Any public type of the service assembly names its entry point (the simulator has a Program too).
public sealed class QrService : WebApplicationFactory<Electrum.QrPayments.Api.QrPaymentsOptions>
{
    public const string Client = "pos-1";
    public const string ClientPassword = "pos-1-password";
    public const string OtherClient = "pos-2";
    public const string OtherClientPassword = "pos-2-password";
    public const string Partner = "partner-1";
    public const string PartnerPassword = "partner-1-password";
    public const string PartnerUpstreamUser = "electrum";
    public const string PartnerUpstreamPassword = "electrum-secret";
    public const string Operator = "ops";
    public const string OperatorPassword = "ops-password";

    private readonly Dictionary<string, string?> settings;

    private readonly TimeProvider? time;

    private readonly bool ownsDatabase;

    /// <param name="ownsDatabase">False for a second instance on the same database: the first drops it.</param>
    public QrService(TestDatabase database, IDictionary<string, string?>? extra = null, Partner? partner = null, TimeProvider? time = null,
        bool ownsDatabase = true)
    {
        Database = database;
        this.time = time;
        this.ownsDatabase = ownsDatabase;
        settings = new Dictionary<string, string?>
        {
            ["ConnectionStrings:QrPayments"] = database.ConnectionString,
            ["QrPayments:Database"] = database.ProviderName,
            ["QrPayments:Clients:0:Id"] = Client,
            ["QrPayments:Clients:0:Secret"] = TestSecrets.Hash(ClientPassword),
            ["QrPayments:Clients:1:Id"] = OtherClient,
            ["QrPayments:Clients:1:Secret"] = TestSecrets.Hash(OtherClientPassword),
            ["QrPayments:Partners:0:Id"] = Partner,
            ["QrPayments:Partners:0:Secret"] = TestSecrets.Hash(PartnerPassword),
            ["QrPayments:Partners:0:BaseUrl"] = partner?.BaseUrl.ToString() ?? "http://127.0.0.1:9/qr/v1",
            ["QrPayments:Partners:0:Username"] = PartnerUpstreamUser,
            ["QrPayments:Partners:0:Password"] = PartnerUpstreamPassword,
            ["QrPayments:Outbox:PollInterval"] = "00:00:00.050",
            ["QrPayments:Operators:0:Id"] = Operator,
            ["QrPayments:Operators:0:Secret"] = TestSecrets.Hash(OperatorPassword),
            ["Serilog:MinimumLevel"] = "Warning",
        };
        foreach (var (key, value) in extra ?? new Dictionary<string, string?>())
        {
            settings[key] = value;
        }
    }

    /// <summary>The service with its partner at any base URL (one that is not the simulator).</summary>
    public QrService(TestDatabase database, Uri partnerBaseUrl, IDictionary<string, string?>? extra = null, TimeProvider? time = null)
        : this(database, new Dictionary<string, string?>(extra ?? new Dictionary<string, string?>())
        {
            ["QrPayments:Partners:0:BaseUrl"] = partnerBaseUrl?.ToString(),
        }, partner: null, time)
    {
    }

    public TestDatabase Database { get; }

    /// <summary>An EF interceptor to add to the service's database access (set before the first use).</summary>
    public Microsoft.EntityFrameworkCore.Diagnostics.IInterceptor? Interceptor { get; init; }
    public LogCapture Logs { get; } = new();

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Testing");
        // UseSetting (not ConfigureAppConfiguration) so values read before Build() see them.
        foreach (var (key, value) in settings)
        {
            builder.UseSetting(key, value);
        }

        builder.ConfigureServices(services =>
        {
            services.AddSingleton<ILoggerProvider>(Logs);
            if (Interceptor is not null)
            {
                services.AddSingleton(Interceptor);
            }

            if (time is not null)
            {
                services.AddSingleton(time);
            }
        });
    }

    public HttpClient CreateClient(string user, string password)
    {
        var http = CreateClient();
        http.DefaultRequestHeaders.Authorization = QrPaymentsClient.BasicAuthorization(user, password);
        return http;
    }

    /// <summary>A client whose requests come from the given remote address (the others come from none).</summary>
    public HttpClient CreateClient(IPAddress from, string user, string password)
    {
        var http = new HttpClient(Server.CreateHandler(context => context.Connection.RemoteIpAddress = from)) { BaseAddress = Server.BaseAddress };
        http.DefaultRequestHeaders.Authorization = QrPaymentsClient.BasicAuthorization(user, password);
        return http;
    }

    public HttpClient PosHttp() => CreateClient(Client, ClientPassword);

    /// <summary>The typed client as a POS (or any caller) would use it.</summary>
    public QrPaymentsClient Api(string user = Client, string password = ClientPassword) =>
        new(CreateClient(), new Uri(Server.BaseAddress, "/qr/v1"), new NetworkCredential(user, password));

    public async Task<T> WithDbAsync<T>(Func<QrDbContext, Task<T>> query)
    {
        await using var scope = Services.CreateAsyncScope();
        return await query(scope.ServiceProvider.GetRequiredService<QrDbContext>());
    }

    public Task<int> CountQrCodesAsync() => WithDbAsync(db => db.QrCodes.CountAsync());

    /// <summary>An operator's GET with a bad query parameter: 400 FORMAT_ERROR naming it (on a service of its own).</summary>
    public static async Task AssertOpsQueryRefusedAsync(string url, string field)
    {
        await using var service = new QrService(TestDatabase.Create(Db.Sqlite));
        using var ops = service.CreateClient(Operator, OperatorPassword);

        var response = await ops.GetAsync(url);

        await QrCodes.CreateQrCodeBadInputTests.AssertFormatError(response, field, HttpStatusCode.BadRequest);
    }

    public static AuthenticationHeaderValue Basic(string user, string password) => QrPaymentsClient.BasicAuthorization(user, password);

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        if (ownsDatabase)
        {
            await Database.DisposeAsync();
        }
    }
}

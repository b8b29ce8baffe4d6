using Electrum.QrPayments.Api;
using Electrum.QrPayments.Api.Web;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Hosting.Internal;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Electrum.QrPayments.Tests.Web;

public class CredentialStoreTests
{
    // Default limits, shared: no test here comes near them.
    private static readonly LoginThrottle Throttle =
        new(Options.Create(new LoginThrottleOptions()), TimeProvider.System, NullLogger<LoginThrottle>.Instance);

    [Fact]
    public void DecoyIterations_HashedSecrets_AreThoseOfTheCostliestHash()
    {
        var options = new QrPaymentsOptions();
        options.Clients.Add(new CredentialOptions { Id = "pos-1", Secret = TestSecrets.Hash("pos-1-password") });
        options.Operators.Add(new CredentialOptions { Id = "ops", Secret = SecretHasher.Hash("ops-password", 150_000) });

        var store = Store(options, Environments.Production);

        Assert.Equal(150_000, store.DecoyIterations);
    }

    [Fact]
    public void DecoyIterations_OnlyPlainSecrets_AreTheDefault()
    {
        var options = new QrPaymentsOptions();
        options.Clients.Add(new CredentialOptions { Id = "pos-1", Secret = "plain" });

        var store = Store(options, Environments.Development);

        Assert.Equal(SecretHasher.DefaultIterations, store.DecoyIterations);
    }

    [Fact]
    public async Task Authenticate_UnknownUser_SpendsOnePasswordCheckAndIsRefused()
    {
        var options = new QrPaymentsOptions();
        options.Clients.Add(new CredentialOptions { Id = "pos-1", Secret = TestSecrets.Hash("pos-1-password") });
        var store = Store(options, Environments.Production);

        var login = await store.AuthenticateAsync("nobody", "pos-1-password", IPAddress.Loopback);

        Assert.Equal(LoginResult.Refused, login);
        Assert.Equal(1, store.PasswordChecks);
    }

    // Hashes of different cost: a wrong password costs the same work whether the name exists or not.
    [Fact]
    public async Task Authenticate_WrongPasswordForCheaperHashOrUnknownUser_SpendTheSameIterations()
    {
        var options = new QrPaymentsOptions();
        options.Clients.Add(new CredentialOptions { Id = "pos-1", Secret = SecretHasher.Hash("pos-1-password", 100_000) });
        options.Operators.Add(new CredentialOptions { Id = "ops", Secret = SecretHasher.Hash("ops-password", 120_000) });
        var known = Store(options, Environments.Production);
        var unknown = Store(options, Environments.Production);
        var right = Store(options, Environments.Production);

        Assert.Equal(LoginResult.Refused, await known.AuthenticateAsync("pos-1", "wrong", IPAddress.Loopback));
        Assert.Equal(LoginResult.Refused, await unknown.AuthenticateAsync("nobody", "wrong", IPAddress.Loopback));
        Assert.Equal(LoginResult.Accepted(CallerRole.Client), await right.AuthenticateAsync("pos-1", "pos-1-password", IPAddress.Loopback));

        Assert.Equal(120_000, known.IterationsSpent);
        Assert.Equal(120_000, unknown.IterationsSpent);
        Assert.Equal(100_000, right.IterationsSpent);
    }

    private static CredentialStore Store(QrPaymentsOptions options, string environment) =>
        new(Options.Create(options), new HostingEnvironment { EnvironmentName = environment }, Throttle);
}

using Electrum.QrPayments.Api;
using Electrum.QrPayments.Api.Web;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Hosting.Internal;
using Microsoft.Extensions.Options;

namespace Electrum.QrPayments.Tests.Web;

public class CredentialStoreTests
{
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

    private static CredentialStore Store(QrPaymentsOptions options, string environment) =>
        new(Options.Create(options), new HostingEnvironment { EnvironmentName = environment });
}

using Electrum.QrPayments.Api.Web;

namespace Electrum.QrPayments.Tests.Web;

public class SecretHasherTests
{
    [Fact]
    public void Verify_RightPassword_True()
    {
        var hash = SecretHasher.Hash("correct horse", 1_000);

        Assert.StartsWith("pbkdf2-sha256$1000$", hash, StringComparison.Ordinal);
        Assert.True(SecretHasher.Verify("correct horse", hash));
    }

    [Fact]
    public void Verify_WrongPassword_False() =>
        Assert.False(SecretHasher.Verify("battery staple", SecretHasher.Hash("correct horse", 1_000)));

    [Fact]
    public void Hash_SamePasswordTwice_UsesDifferentSalts() =>
        Assert.NotEqual(SecretHasher.Hash("p", 1_000), SecretHasher.Hash("p", 1_000));

    [Theory]
    [InlineData("pbkdf2-sha256$x$abc$def")]
    [InlineData("pbkdf2-sha256$1000$!!!$def")]
    [InlineData("pbkdf2-sha256$1000$abc")]
    [InlineData("plain")]
    [InlineData("pbkdf2-sha256$0$AAAA$AAAA")]
    public void Verify_MalformedHash_FalseNotThrow(string stored) => Assert.False(SecretHasher.Verify("p", stored));

    [Theory]
    [InlineData("pbkdf2-sha256$x$abc$def")]
    [InlineData("pbkdf2-sha256$1000$!!!$def")]
    [InlineData("pbkdf2-sha256$1000$AAAA$")]
    [InlineData("plain")]
    public void Iterations_MalformedHash_Null(string stored) => Assert.Null(SecretHasher.Iterations(stored));

    [Fact]
    public void Iterations_WellFormedHash_IsItsCount() => Assert.Equal(1_234, SecretHasher.Iterations(SecretHasher.Hash("p", 1_234)));

    [Fact]
    public void Decoy_AnyPassword_NeverMatchesAndHasTheCount()
    {
        var decoy = SecretHasher.Decoy(1_000);

        Assert.Equal(1_000, SecretHasher.Iterations(decoy));
        Assert.False(SecretHasher.Verify("", decoy));
        Assert.False(SecretHasher.Verify("unknown-user", decoy));
    }

    [Fact]
    public void Hash_Default_UsesAtLeast600kIterations() =>
        Assert.True(SecretHasher.DefaultIterations >= 600_000);
}

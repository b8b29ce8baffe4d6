namespace Electrum.QrPayments.Tests.Infrastructure;

/// <summary>
/// Tests that kill and restart service processes under load run on their own, after the others:
/// on a shared 2-core machine, parallel test classes can starve them into doing too little to prove anything.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class AloneCollection
{
    public const string Name = "Alone";
}

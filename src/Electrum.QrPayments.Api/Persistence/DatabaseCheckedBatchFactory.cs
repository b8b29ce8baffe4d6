using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Storage;
using Microsoft.EntityFrameworkCore.Update;
using Npgsql.EntityFrameworkCore.PostgreSQL.Update.Internal;

// Npgsql's batch factory is public but marked for EF's own use: this file only wraps what it makes,
// and VersionCheckTests fail if a release changes how (a transaction or a command more per save).
#pragma warning disable EF1001

namespace Electrum.QrPayments.Api.Persistence;

/// <summary>
/// PostgreSQL's batches, each told it needs no transaction of its own when the save it belongs to
/// is one the database checks row by row (<see cref="QrDbContext"/>: inserts against their unique
/// indexes, a payment change through its audit row). PostgreSQL runs a batch sent without BEGIN
/// as one implicit transaction, all or nothing. EF still begins a transaction when a save takes
/// more than one batch, since it decides that from <see cref="ModificationCommandBatch.AreMoreBatchesExpected"/>.
/// </summary>
public sealed class DatabaseCheckedBatchFactory(ModificationCommandBatchFactoryDependencies dependencies, IDbContextOptions options)
    : IModificationCommandBatchFactory
{
    private readonly NpgsqlModificationCommandBatchFactory inner = new(dependencies, options);

    public ModificationCommandBatch Create()
    {
        var batch = inner.Create();
        return dependencies.CurrentContext.Context is QrDbContext { SavingCheckedRows: true } ? new CheckedBatch(batch) : batch;
    }

    // The batch as Npgsql built it, but for the one question.
    private sealed class CheckedBatch(ModificationCommandBatch inner) : ModificationCommandBatch
    {
        public override IReadOnlyList<IReadOnlyModificationCommand> ModificationCommands => inner.ModificationCommands;

        public override bool RequiresTransaction => false;

        public override bool AreMoreBatchesExpected => inner.AreMoreBatchesExpected;

        public override bool TryAddCommand(IReadOnlyModificationCommand modificationCommand) => inner.TryAddCommand(modificationCommand);

        public override void Complete(bool moreBatchesExpected) => inner.Complete(moreBatchesExpected);

        public override void Execute(IRelationalConnection connection) => inner.Execute(connection);

        public override Task ExecuteAsync(IRelationalConnection connection, CancellationToken cancellationToken = default) =>
            inner.ExecuteAsync(connection, cancellationToken);
    }
}

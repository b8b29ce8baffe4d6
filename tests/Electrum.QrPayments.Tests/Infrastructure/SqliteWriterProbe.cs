using System.Data.Common;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore.Diagnostics;
using SQLitePCL;

namespace Electrum.QrPayments.Tests.Infrastructure;

/// <summary>
/// Counts the moments at which SQLite would answer SQLITE_BUSY: a connection starting a write
/// while another connection's write (its open transaction, or a lone statement) is not yet over.
/// SQLite in WAL mode admits one writer; every such overlap is a busy wait in Microsoft.Data.Sqlite.
/// </summary>
public sealed class SqliteWriterProbe : DbCommandInterceptor, IDbTransactionInterceptor
{
    private readonly Lock gate = new();
    private readonly HashSet<DbConnection> writing = [];
    private readonly HashSet<DbConnection> lone = [];
    private readonly System.Runtime.CompilerServices.ConditionalWeakTable<DbTransaction, DbConnection> connections = [];

    public int Writes { get; private set; }
    public int Overlaps { get; private set; }

    public override ValueTask<InterceptionResult<DbDataReader>> ReaderExecutingAsync(DbCommand command, CommandEventData eventData,
        InterceptionResult<DbDataReader> result, CancellationToken cancellationToken = default)
    {
        Begin(command);
        return ValueTask.FromResult(result);
    }

    public override ValueTask<DbDataReader> ReaderExecutedAsync(DbCommand command, CommandExecutedEventData eventData, DbDataReader result,
        CancellationToken cancellationToken = default)
    {
        EndLone(command);
        return ValueTask.FromResult(result);
    }

    public override ValueTask<InterceptionResult<int>> NonQueryExecutingAsync(DbCommand command, CommandEventData eventData,
        InterceptionResult<int> result, CancellationToken cancellationToken = default)
    {
        Begin(command);
        return ValueTask.FromResult(result);
    }

    public override ValueTask<int> NonQueryExecutedAsync(DbCommand command, CommandExecutedEventData eventData, int result,
        CancellationToken cancellationToken = default)
    {
        EndLone(command);
        return ValueTask.FromResult(result);
    }

    public override Task CommandFailedAsync(DbCommand command, CommandErrorEventData eventData, CancellationToken cancellationToken = default)
    {
        EndLone(command);
        return Task.CompletedTask;
    }

    public Task TransactionCommittedAsync(DbTransaction transaction, TransactionEndEventData eventData, CancellationToken cancellationToken = default)
    {
        End(transaction);
        return Task.CompletedTask;
    }

    public Task TransactionRolledBackAsync(DbTransaction transaction, TransactionEndEventData eventData, CancellationToken cancellationToken = default)
    {
        End(transaction);
        return Task.CompletedTask;
    }

    public Task TransactionFailedAsync(DbTransaction transaction, TransactionErrorEventData eventData, CancellationToken cancellationToken = default)
    {
        End(transaction);
        return Task.CompletedTask;
    }

    private void Begin(DbCommand command)
    {
        if (!IsWrite(command) || command.Connection is not { } connection)
        {
            return;
        }

        lock (gate)
        {
            Writes++;
            // A connection whose transaction ended out of EF's sight (the write lane commits its own)
            // is done writing; one running a lone statement is not (it is in autocommit mode meanwhile).
            writing.RemoveWhere(c => c != connection && !lone.Contains(c) && !InTransaction(c));
            if (writing.Any(c => c != connection))
            {
                Overlaps++;
            }

            writing.Add(connection);
            if (command.Transaction is null)
            {
                lone.Add(connection);
            }
        }
    }

    // A statement outside a transaction is its own transaction: over when it returns.
    private void EndLone(DbCommand command)
    {
        if (IsWrite(command) && command.Transaction is null && command.Connection is { } connection)
        {
            End(connection);
        }
    }

    public ValueTask<DbTransaction> TransactionStartedAsync(DbConnection connection, TransactionEndEventData eventData, DbTransaction result,
        CancellationToken cancellationToken = default)
    {
        connections.AddOrUpdate(result, connection);
        return ValueTask.FromResult(result);
    }

    private void End(DbTransaction transaction)
    {
        if (connections.TryGetValue(transaction, out var connection))
        {
            End(connection);
        }
    }

    private void End(DbConnection connection)
    {
        lock (gate)
        {
            writing.Remove(connection);
            lone.Remove(connection);
        }
    }

    private static bool InTransaction(DbConnection connection) =>
        connection is SqliteConnection { Handle: { } handle } && raw.sqlite3_get_autocommit(handle) == 0;

    private static bool IsWrite(DbCommand command)
    {
        var text = command.CommandText.AsSpan().TrimStart();
        return text.StartsWith("INSERT", StringComparison.OrdinalIgnoreCase) || text.StartsWith("UPDATE", StringComparison.OrdinalIgnoreCase) ||
               text.StartsWith("DELETE", StringComparison.OrdinalIgnoreCase);
    }
}

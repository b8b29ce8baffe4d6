using System.Data;
using System.Data.Common;
using System.Diagnostics.CodeAnalysis;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace Electrum.QrPayments.Api.Persistence;

/// <summary>
/// Keeps the statements of the SQLite write lane's connection compiled. Microsoft.Data.Sqlite keeps
/// a compiled statement only as long as its command lives, and EF makes a new command for every
/// statement it runs, so every write compiled its SQL again: 6% of the service's CPU in a profile of
/// SQLite lifecycles. The lane's connection stays open and runs few distinct statements (one per
/// shape of save, the outbox's updates, the savepoints), so on that connection EF is handed one kept
/// command per SQL text instead of a new one; it runs through EF's pipeline as before (interceptors,
/// logging, the transaction). Commands on other connections are left alone: a pooled connection
/// drops its commands' statements whenever it closes.
/// </summary>
public sealed class SqliteStatementCache : DbCommandInterceptor
{
    /// <summary>Distinct statements kept at most; any beyond them are compiled each time, as before.</summary>
    public const int MaxStatements = 128;

    private readonly Dictionary<string, SqliteCommand> statements = new(StringComparer.Ordinal);
    private SqliteConnection? connection;

    /// <summary>The lane's connection, whose statements are kept; null forgets them (the connection is being dropped).</summary>
    internal void Use(SqliteConnection? laneConnection)
    {
        // Only the lane's loop calls this, between batches, when no command of the lane runs.
        foreach (var command in statements.Values)
        {
            command.Dispose();
        }

        statements.Clear();
        connection = laneConnection;
    }

    /// <summary>Statements compiled and kept so far.</summary>
    internal int Count => statements.Count;

    /// <summary>
    /// The kept command for <paramref name="sql"/> on the lane's connection, inside <paramref name="transaction"/>,
    /// without parameters; null when the cache is full and the text is new.
    /// </summary>
    internal SqliteCommand? Statement(string sql, SqliteTransaction? transaction)
    {
        if (!statements.TryGetValue(sql, out var command))
        {
            if (statements.Count >= MaxStatements || connection is null)
            {
                return null;
            }

            command = connection.CreateCommand();
            command.CommandText = sql;
            statements.Add(sql, command);
        }

        command.Transaction = transaction;
        command.Parameters.Clear();
        return command;
    }

    // EF has set the new command's text, parameters and transaction: on the lane's connection it runs
    // the kept command instead (the lane runs one write at a time, so no two uses overlap).
    public override DbCommand CommandInitialized(CommandEndEventData eventData, DbCommand result)
    {
        ArgumentNullException.ThrowIfNull(result);
        if (connection is null || !ReferenceEquals(result.Connection, connection) || result is not SqliteCommand fresh ||
            Statement(fresh.CommandText, fresh.Transaction) is not { } kept)
        {
            return result;
        }

        foreach (SqliteParameter parameter in fresh.Parameters)
        {
            kept.Parameters.Add(parameter);
        }

        if (fresh.CommandTimeout != kept.CommandTimeout)
        {
            kept.CommandTimeout = fresh.CommandTimeout;
        }

        fresh.Parameters.Clear();
        fresh.Dispose();
        return new KeptCommand(kept);
    }

    /// <summary>
    /// What EF runs and then disposes: the kept command, which that disposal leaves alone (EF has
    /// disposed the reader by then, which resets the statement for its next use).
    /// </summary>
    private sealed class KeptCommand(SqliteCommand kept) : DbCommand
    {
        [AllowNull]
        public override string CommandText
        {
            get => kept.CommandText;
            set => throw new InvalidOperationException("A kept statement's text does not change.");
        }

        public override int CommandTimeout
        {
            get => kept.CommandTimeout;
            set => kept.CommandTimeout = value;
        }

        public override CommandType CommandType
        {
            get => kept.CommandType;
            set => kept.CommandType = value;
        }

        public override bool DesignTimeVisible
        {
            get => kept.DesignTimeVisible;
            set => kept.DesignTimeVisible = value;
        }

        public override UpdateRowSource UpdatedRowSource
        {
            get => kept.UpdatedRowSource;
            set => kept.UpdatedRowSource = value;
        }

        protected override DbConnection? DbConnection
        {
            get => kept.Connection;
            set => throw new InvalidOperationException("A kept statement stays on its connection.");
        }

        protected override DbParameterCollection DbParameterCollection => kept.Parameters;

        protected override DbTransaction? DbTransaction
        {
            get => kept.Transaction;
            set => kept.Transaction = (SqliteTransaction?)value;
        }

        public override void Cancel() => kept.Cancel();

        public override int ExecuteNonQuery() => kept.ExecuteNonQuery();

        public override object? ExecuteScalar() => kept.ExecuteScalar();

        public override void Prepare() => kept.Prepare();

        protected override DbParameter CreateDbParameter() => kept.CreateParameter();

        protected override DbDataReader ExecuteDbDataReader(CommandBehavior behavior) => kept.ExecuteReader(behavior);
    }
}

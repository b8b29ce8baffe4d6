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
/// command per SQL text (from the text's second run) instead of a new one; it runs through EF's
/// pipeline as before (interceptors, logging, the transaction). Commands on other connections are
/// left alone: a pooled connection drops its commands' statements whenever it closes.
/// </summary>
public sealed class SqliteStatementCache : DbCommandInterceptor
{
    /// <summary>Distinct statements kept at most; any beyond them are compiled each time, as before.</summary>
    public const int MaxStatements = 128;

    private readonly Dictionary<string, SqliteCommand> statements = new(StringComparer.Ordinal);
    // Texts seen once: a statement is kept from its second run, so one-off texts (values written into
    // the SQL, a rare save) do not take the places of the statements that run all the time.
    private readonly HashSet<string> seenOnce = new(StringComparer.Ordinal);
    // Kept commands handed out and not yet given back: a command is never lent twice at once.
    private readonly HashSet<SqliteCommand> lent = [];
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
        seenOnce.Clear();
        lent.Clear();
        connection = laneConnection;
    }

    /// <summary>Statements compiled and kept so far.</summary>
    internal int Count => statements.Count;

    /// <summary>
    /// The kept command for <paramref name="sql"/> on the lane's connection, inside
    /// <paramref name="transaction"/>, without parameters, lent until <see cref="GiveBack"/>; null
    /// (compile it as before) the first time a text is seen, when the cache is full, or while the
    /// text's command is lent.
    /// </summary>
    internal SqliteCommand? Statement(string sql, SqliteTransaction? transaction)
    {
        if (!statements.TryGetValue(sql, out var command))
        {
            if (connection is null || statements.Count >= MaxStatements || Once(sql))
            {
                return null;
            }

            command = connection.CreateCommand();
            command.CommandText = sql;
            statements.Add(sql, command);
        }

        if (!lent.Add(command))
        {
            return null;
        }

        command.Transaction = transaction;
        command.Parameters.Clear();
        return command;
    }

    internal void GiveBack(SqliteCommand command) => lent.Remove(command);

    private bool Once(string sql)
    {
        if (seenOnce.Remove(sql))
        {
            return false;
        }

        if (seenOnce.Count >= 4 * MaxStatements)
        {
            seenOnce.Clear();
        }

        seenOnce.Add(sql);
        return true;
    }

    // EF has set the new command's text, parameters and transaction: on the lane's connection it runs
    // the kept command instead (the lane runs one write at a time).
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
        return new KeptCommand(this, kept);
    }

    /// <summary>
    /// What EF runs and then disposes. Disposing it closes a reader it handed out that EF did not
    /// (as disposing a command of EF's own would: else the statement stays busy and the kept command
    /// unusable) and gives the kept command back, which stays compiled. Its text and connection are
    /// fixed: an interceptor after this one cannot rewrite the SQL of a write in the lane.
    /// </summary>
    private sealed class KeptCommand(SqliteStatementCache cache, SqliteCommand kept) : DbCommand
    {
        private SqliteDataReader? reader;

        [AllowNull]
        public override string CommandText
        {
            get => kept.CommandText;
            set => throw new NotSupportedException("A kept statement's text does not change.");
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
            set => throw new NotSupportedException("A kept statement stays on its connection.");
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

        protected override DbDataReader ExecuteDbDataReader(CommandBehavior behavior) => reader = kept.ExecuteReader(behavior);

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                reader?.Dispose();
                reader = null;
                cache.GiveBack(kept);
            }

            base.Dispose(disposing);
        }
    }
}

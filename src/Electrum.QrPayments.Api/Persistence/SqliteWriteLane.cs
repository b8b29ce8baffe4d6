using System.Data.Common;
using System.Threading.Channels;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;

namespace Electrum.QrPayments.Api.Persistence;

/// <summary>
/// Group commit for SQLite. Writes queue here; one loop takes every write waiting, runs them back
/// to back on one open connection inside one transaction (each in a savepoint of its own, so one
/// that fails is rolled back alone), commits once and only then completes each writer. One fsync
/// and one turn of <see cref="SqliteWriteGate"/> serve the whole batch, where each write used to
/// pay for both. A writer learns its outcome only after the commit is durable, as before.
/// </summary>
public sealed partial class SqliteWriteLane : IAsyncDisposable
{
    /// <summary>Writes in one transaction at most, so a long queue still commits in steps.</summary>
    public const int MaxBatch = 64;

    private readonly Channel<Work> queue = Channel.CreateUnbounded<Work>(new UnboundedChannelOptions { SingleReader = true });
    private readonly SqliteWriteGate gate;
    private readonly Func<DbContext> connectionOwner;
    private readonly ILogger<SqliteWriteLane> logger;
    private readonly SqliteStatementCache statements;
    private readonly Task loop;
    // A context of its own holds the lane's connection: EF sets up its SQLite functions and
    // timeouts only on connections it creates.
    private DbContext? owner;
    private SqliteConnection? connection;
    private long commits;
    private long writes;

    // statements: keeps the lane's statements compiled; the contexts that write here must have it
    // among their interceptors for their statements to be kept too (the savepoints are kept either way).
    public SqliteWriteLane(SqliteWriteGate gate, Func<DbContext> connectionOwner, ILogger<SqliteWriteLane> logger,
        SqliteStatementCache? statements = null)
    {
        this.gate = gate;
        this.connectionOwner = connectionOwner;
        this.logger = logger;
        this.statements = statements ?? new SqliteStatementCache();
        loop = Task.Run(RunAsync);
    }

    /// <summary>Transactions committed so far.</summary>
    public long Commits => Interlocked.Read(ref commits);

    /// <summary>Writes those transactions carried: Writes / Commits is the batching achieved.</summary>
    public long Writes => Interlocked.Read(ref writes);

    /// <summary>
    /// Runs <paramref name="write"/> on the lane's connection inside its transaction, and completes
    /// once that transaction has committed (or failed: then with its error).
    /// </summary>
    public Task RunAsync(Func<DbConnection, DbTransaction, Task> write)
    {
        var work = new Work(write);
        if (!queue.Writer.TryWrite(work))
        {
            throw new ObjectDisposedException(nameof(SqliteWriteLane));
        }

        return work.Done.Task;
    }

    private async Task RunAsync()
    {
        var batch = new List<Work>(MaxBatch);
        while (await queue.Reader.WaitToReadAsync())
        {
            // Take the batch once the gate is ours: writes that came while it was busy join it.
            await gate.EnterAsync(CancellationToken.None);
            batch.Clear();
            while (batch.Count < MaxBatch && queue.Reader.TryRead(out var work))
            {
                batch.Add(work);
            }

            try
            {
                await CommitAsync(batch);
            }
            catch (Exception e)
            {
                // Never leave a writer waiting, and never stop the lane.
                LogCommitFailed(logger, e, batch.Count);
                foreach (var work in batch)
                {
                    work.Done.TrySetException(e);
                }
            }
            finally
            {
                gate.Leave();
            }
        }
    }

    private async Task CommitAsync(List<Work> batch)
    {
        Exception? commitError = null;
        try
        {
            connection ??= await OpenAsync();
            await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync();
            foreach (var work in batch)
            {
                Run("SAVEPOINT w", transaction);
                try
                {
                    await work.Write(connection, transaction);
                    Run("RELEASE w", transaction);
                }
                catch (Exception e)
                {
                    work.Error = e;
                    Run("ROLLBACK TO w", transaction);
                    Run("RELEASE w", transaction);
                }
            }

            await transaction.CommitAsync();
        }
        catch (Exception e)
        {
            // The transaction is gone (SQLite rolls it back): nothing of this batch was written.
            commitError = e;
            LogCommitFailed(logger, e, batch.Count);
            await DropConnectionAsync();
        }

        var committed = 0;
        foreach (var work in batch)
        {
            // After a failed commit a write's own error may be wrong too (a duplicate of a row that
            // was never committed): every write gets the commit's error.
            if (commitError is not null)
            {
                work.Done.TrySetException(commitError);
            }
            else if (work.Error is { } own)
            {
                work.Done.TrySetException(own);
            }
            else
            {
                committed++;
                work.Done.TrySetResult();
            }
        }

        if (commitError is null)
        {
            Interlocked.Increment(ref commits);
            Interlocked.Add(ref writes, committed);
        }
    }

    // A savepoint statement, kept compiled as the writes' statements are.
    private void Run(string sql, SqliteTransaction transaction)
    {
        if (statements.Statement(sql, transaction) is { } kept)
        {
            try
            {
                kept.ExecuteNonQuery();
            }
            finally
            {
                statements.GiveBack(kept);
            }

            return;
        }

        using var command = connection!.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    private async Task<SqliteConnection> OpenAsync()
    {
        owner = connectionOwner();
        // Opened through EF, so its connection interceptors (SqliteConnectionSetup) see it.
        await owner.Database.OpenConnectionAsync();
        var opened = (SqliteConnection)owner.Database.GetDbConnection();
        statements.Use(opened);
        return opened;
    }

    private async Task DropConnectionAsync()
    {
        connection = null;
        statements.Use(null);
        if (owner is { } broken)
        {
            owner = null;
            await broken.DisposeAsync();
        }
    }

    public async ValueTask DisposeAsync()
    {
        queue.Writer.TryComplete();
        await loop;
        await DropConnectionAsync();
    }

    private sealed class Work(Func<DbConnection, DbTransaction, Task> write)
    {
        public Func<DbConnection, DbTransaction, Task> Write { get; } = write;
        public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public Exception? Error { get; set; }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "SQLite write batch of {Count} failed to commit; every write in it failed")]
    private static partial void LogCommitFailed(ILogger logger, Exception exception, int count);
}

using System.Data.Common;
using Electrum.QrPayments.Api.Persistence;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.Extensions.DependencyInjection;

namespace Electrum.QrPayments.Tests.Persistence;

/// <summary>
/// The write lane's statements kept compiled, in the service: reused, reusable after a failure,
/// kept from their second run, bounded, forgotten with the connection. The service at rest writes
/// nothing (no payments, no outbox), so the cache holds only what these tests run.
/// </summary>
public sealed class SqliteStatementCacheTests : IAsyncLifetime
{
    private readonly ScratchCommands seen = new();
    private QrService service = null!;

    private SqliteStatementCache Cache => service.Services.GetRequiredService<SqliteStatementCache>();

    public async Task InitializeAsync()
    {
        service = new QrService(TestDatabase.Create(Db.Sqlite)) { Interceptor = seen };
        await service.WithDbAsync(db => db.Database.ExecuteSqlRawAsync("""
            CREATE TABLE scratch (id INTEGER PRIMARY KEY);
            CREATE TABLE scratch_child (id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES scratch (id) DEFERRABLE INITIALLY DEFERRED);
            """));
    }

    public async Task DisposeAsync() => await service.DisposeAsync();

    [Fact]
    public async Task CommandInitialized_SameStatementAgainOnTheLane_RunsOneKeptCommand()
    {
        await InsertAsync(1);
        await InsertAsync(2);
        var kept = Cache.Count;
        await InsertAsync(3);

        Assert.Equal([1L, 2L, 3L], await IdsAsync());
        Assert.Equal(kept, Cache.Count);
        // Later interceptors see the statement EF asked for: compiled afresh the first time, then
        // run by one kept command.
        Assert.Equal(3, seen.Commands.Count);
        Assert.All(seen.Commands, c => Assert.Equal("INSERT INTO scratch (id) VALUES (@p0)", c.Text));
        Assert.IsType<SqliteCommand>(seen.Commands[0].Command);
        Assert.IsNotType<SqliteCommand>(seen.Commands[1].Command);
        Assert.Same(seen.Commands[1].Parameters, seen.Commands[2].Parameters);
    }

    [Fact]
    public async Task CommandInitialized_KeptStatementFailed_RunsAgainAfterwards()
    {
        await InsertAsync(1);
        var duplicate = await Assert.ThrowsAsync<SqliteException>(() => InsertAsync(1));
        Assert.Equal(19, duplicate.SqliteErrorCode);
        var kept = Cache.Count;

        await InsertAsync(2);

        Assert.Equal([1L, 2L], await IdsAsync());
        Assert.Equal(kept, Cache.Count);
    }

    [Fact]
    public async Task CommandInitialized_ReaderLeftOpenByAFailedWrite_StatementRunsAgainAfterwards()
    {
        await ReturningInsertAsync(1);
        seen.FailNextReader = true;
        await Assert.ThrowsAsync<InvalidOperationException>(() => ReturningInsertAsync(2));

        // EF does not close a reader whose command an interceptor failed after it ran; the kept
        // command's disposal does, so the statement is free again and the failed write rolled back.
        Assert.Equal(3, await ReturningInsertAsync(3));
        Assert.Equal([1L, 3L], await IdsAsync());
    }

    [Fact]
    public async Task CommandInitialized_MoreStatementsThanKept_TheRestRunAsBefore()
    {
        // Each text distinct and run twice: the first ones are kept up to the bound, the rest compiled each time.
        for (var id = 1; id <= SqliteStatementCache.MaxStatements + 5; id++)
        {
            await WriteAsync($"UPDATE scratch SET id = id WHERE id = {id}");
            await WriteAsync($"UPDATE scratch SET id = id WHERE id = {id}");
        }

        Assert.Equal(SqliteStatementCache.MaxStatements, Cache.Count);
        await InsertAsync(1);
        Assert.Equal([1L], await IdsAsync());
    }

    [Fact]
    public async Task CommandInitialized_TextSeenOnce_NotKept()
    {
        // Two writes: from the second on, every write's savepoint statements are kept.
        await WriteAsync("UPDATE scratch SET id = id WHERE id = 1");
        await WriteAsync("UPDATE scratch SET id = id WHERE id = 2");
        var kept = Cache.Count;

        await WriteAsync("UPDATE scratch SET id = id WHERE id = 3");

        Assert.Equal(kept, Cache.Count);
        await WriteAsync("UPDATE scratch SET id = id WHERE id = 3");
        Assert.Equal(kept + 1, Cache.Count);
    }

    [Fact]
    public async Task Use_LaneCommitFailed_StatementsForgottenAndTheLaneGoesOn()
    {
        await InsertAsync(1);
        await InsertAsync(2);
        Assert.NotEqual(0, Cache.Count);

        // The foreign key is checked only at commit, so the batch's commit fails and the lane drops its connection.
        await Assert.ThrowsAsync<SqliteException>(() => WriteAsync("INSERT INTO scratch_child (id, parent_id) VALUES (1, 99)"));
        Assert.Equal(0, Cache.Count);

        await InsertAsync(3);
        await InsertAsync(4);
        Assert.Equal([1L, 2L, 3L, 4L], await IdsAsync());
        Assert.NotEqual(0, Cache.Count);
    }

    private Task InsertAsync(long id) => WriteAsync("INSERT INTO scratch (id) VALUES ({0})", id);

    // A write whose statement returns what it wrote: EF runs it as a reader.
    private async Task<long> ReturningInsertAsync(long id)
    {
        await using var scope = service.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<QrDbContext>();
        var ids = await db.WriteAsync(() => db.Database.SqlQueryRaw<long>("INSERT INTO scratch (id) VALUES ({0}) RETURNING id AS \"Value\"", id).ToListAsync());
        return Assert.Single(ids);
    }

    // A write of a request's context, which the service sends through its write lane.
    private async Task WriteAsync(string sql, params object[] values)
    {
        await using var scope = service.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<QrDbContext>();
        await db.WriteAsync(() => db.Database.ExecuteSqlRawAsync(sql, values));
    }

    private Task<List<long>> IdsAsync() =>
        service.WithDbAsync(db => db.Database.SqlQueryRaw<long>("SELECT id AS \"Value\" FROM scratch ORDER BY id").ToListAsync());

    private sealed class ScratchCommands : DbCommandInterceptor
    {
        public List<(string Text, DbCommand Command, DbParameterCollection Parameters)> Commands { get; } = [];

        /// <summary>The next reader on the scratch table fails after it ran, its reader still open.</summary>
        public bool FailNextReader { get; set; }

        public override ValueTask<DbDataReader> ReaderExecutedAsync(DbCommand command, CommandExecutedEventData eventData, DbDataReader result,
            CancellationToken cancellationToken = default)
        {
            if (FailNextReader && command.CommandText.StartsWith("INSERT INTO scratch (", StringComparison.Ordinal))
            {
                FailNextReader = false;
                throw new InvalidOperationException("failed by the test after the statement ran");
            }

            return ValueTask.FromResult(result);
        }

        public override ValueTask<InterceptionResult<int>> NonQueryExecutingAsync(DbCommand command, CommandEventData eventData,
            InterceptionResult<int> result, CancellationToken cancellationToken = default)
        {
            if (command.CommandText.StartsWith("INSERT INTO scratch (", StringComparison.Ordinal))
            {
                lock (Commands)
                {
                    Commands.Add((command.CommandText, command, command.Parameters));
                }
            }

            return ValueTask.FromResult(result);
        }
    }
}

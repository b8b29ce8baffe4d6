using System.Data.Common;
using Electrum.QrPayments.Api.Persistence;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.Extensions.DependencyInjection;

namespace Electrum.QrPayments.Tests.Persistence;

/// <summary>The write lane's statements kept compiled, in the service: reused, reusable after a failure, bounded, forgotten with the connection.</summary>
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
    public async Task CommandInitialized_SameStatementTwiceOnTheLane_BothRunOneKeptCommand()
    {
        await InsertAsync(1);
        var kept = Cache.Count;
        await InsertAsync(2);

        Assert.Equal([1L, 2L], await IdsAsync());
        Assert.Equal(kept, Cache.Count);
        // Later interceptors see the statement EF asked for, run by the same kept command each time.
        Assert.Equal(2, seen.Commands.Count);
        Assert.All(seen.Commands, c => Assert.Equal("INSERT INTO scratch (id) VALUES (@p0)", c.Text));
        Assert.Same(seen.Commands[0].Parameters, seen.Commands[1].Parameters);
        Assert.IsNotType<SqliteCommand>(seen.Commands[0].Command);
    }

    [Fact]
    public async Task CommandInitialized_KeptStatementFailed_RunsAgainAfterwards()
    {
        await InsertAsync(1);
        var duplicate = await Assert.ThrowsAsync<SqliteException>(() => InsertAsync(1));
        Assert.Equal(19, duplicate.SqliteErrorCode);
        // The failed write's rollback to its savepoint is kept too; the insert is the one kept before.
        var kept = Cache.Count;

        await InsertAsync(2);

        Assert.Equal([1L, 2L], await IdsAsync());
        Assert.Equal(kept, Cache.Count);
    }

    [Fact]
    public async Task CommandInitialized_MoreStatementsThanKept_TheRestRunAsBefore()
    {
        // Each text distinct: the first ones are kept up to the bound, the rest compiled and dropped as before.
        for (var id = 1; id <= SqliteStatementCache.MaxStatements + 5; id++)
        {
            await WriteAsync($"INSERT INTO scratch (id) VALUES ({id})");
        }

        Assert.Equal(SqliteStatementCache.MaxStatements + 5, (await IdsAsync()).Count);
        Assert.Equal(SqliteStatementCache.MaxStatements, Cache.Count);
    }

    [Fact]
    public async Task Use_LaneCommitFailed_StatementsForgottenAndTheLaneGoesOn()
    {
        await InsertAsync(1);
        Assert.NotEqual(0, Cache.Count);

        // The foreign key is checked only at commit, so the batch's commit fails and the lane drops its connection.
        await Assert.ThrowsAsync<SqliteException>(() => WriteAsync("INSERT INTO scratch_child (id, parent_id) VALUES (1, 99)"));
        Assert.Equal(0, Cache.Count);

        await InsertAsync(2);
        Assert.Equal([1L, 2L], await IdsAsync());
        Assert.NotEqual(0, Cache.Count);
    }

    private Task InsertAsync(long id) => WriteAsync("INSERT INTO scratch (id) VALUES ({0})", id);

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

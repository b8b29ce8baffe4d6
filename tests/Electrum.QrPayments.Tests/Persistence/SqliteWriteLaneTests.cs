using System.Data.Common;
using Electrum.QrPayments.Api.Persistence;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging.Abstractions;

namespace Electrum.QrPayments.Tests.Persistence;

/// <summary>The SQLite write lane on a real database file: batching, and failures kept to their own write.</summary>
public sealed class SqliteWriteLaneTests : IAsyncLifetime
{
    private readonly string file = Path.Combine(Path.GetTempPath(), $"lane-{Guid.NewGuid():N}.db");
    private readonly SqliteWriteGate gate = new();
    private SqliteWriteLane lane = null!;

    private string ConnectionString => $"Data Source={file};Foreign Keys=True;Pooling=False";

    public async Task InitializeAsync()
    {
        await using var connection = new SqliteConnection(ConnectionString);
        await connection.OpenAsync();
        await using var create = connection.CreateCommand();
        create.CommandText = """
            PRAGMA journal_mode=WAL;
            CREATE TABLE parent (id INTEGER PRIMARY KEY);
            CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED);
            """;
        await create.ExecuteNonQueryAsync();
        lane = new SqliteWriteLane(gate, () => new QrDbContext(new DbContextOptionsBuilder<QrDbContext>().UseSqlite(ConnectionString).Options),
            NullLogger<SqliteWriteLane>.Instance);
    }

    public async Task DisposeAsync()
    {
        await lane.DisposeAsync();
        foreach (var path in new[] { file, file + "-wal", file + "-shm" })
        {
            File.Delete(path);
        }
    }

    [Fact]
    public async Task RunAsync_FirstWrite_OpensItsConnectionThroughEf()
    {
        // Without pooling every open is a new native connection: mapped only if EF's connection
        // interceptors (here the service's SqliteConnectionSetup) saw the lane open it.
        await using var own = new SqliteWriteLane(new SqliteWriteGate(), () => new QrDbContext(new DbContextOptionsBuilder<QrDbContext>()
            .UseSqlite(ConnectionString).AddInterceptors(new SqliteConnectionSetup()).Options), NullLogger<SqliteWriteLane>.Instance);

        long? mapped = null;
        await own.RunAsync(async (connection, transaction) =>
        {
            await using var command = connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = "PRAGMA mmap_size";
            mapped = (long?)await command.ExecuteScalarAsync();
        });

        Assert.Equal(SqliteConnectionSetup.MmapSize, mapped);
    }

    [Fact]
    public async Task RunAsync_WritesQueuedWhileAnotherWriterHoldsTheGate_CommitTogether()
    {
        await gate.EnterAsync(CancellationToken.None);
        var writes = Enumerable.Range(1, 10).Select(id => lane.RunAsync(Insert("parent", id))).ToList();
        Assert.DoesNotContain(writes, w => w.IsCompleted);

        gate.Leave();
        await Task.WhenAll(writes);

        Assert.Equal(10, await CountAsync("parent"));
        Assert.Equal(10, lane.Writes);
        Assert.Equal(1, lane.Commits);
    }

    [Fact]
    public async Task RunAsync_OneWriteOfABatchFails_OnlyThatWriteFails()
    {
        await gate.EnterAsync(CancellationToken.None);
        var first = lane.RunAsync(Insert("parent", 1));
        var duplicate = lane.RunAsync(async (connection, transaction) =>
        {
            await Insert("parent", 2)(connection, transaction);
            await Insert("parent", 1)(connection, transaction);
        });
        var third = lane.RunAsync(Insert("parent", 3));
        gate.Leave();

        await first;
        await third;
        var error = await Assert.ThrowsAsync<SqliteException>(() => duplicate);
        Assert.Equal(19, error.SqliteErrorCode);
        // Its first statement (id 2) was rolled back with it; its neighbours' rows stand.
        Assert.Equal([1L, 3L], await IdsAsync("parent"));
    }

    [Fact]
    public async Task RunAsync_CommitFails_EveryWriteOfTheBatchFailsAndTheLaneGoesOn()
    {
        await gate.EnterAsync(CancellationToken.None);
        var good = lane.RunAsync(Insert("parent", 1));
        // Its foreign key is checked only at commit, so the whole commit fails.
        var orphan = lane.RunAsync(Insert("child", 1, parent: 99));
        gate.Leave();

        await Assert.ThrowsAsync<SqliteException>(() => good);
        await Assert.ThrowsAsync<SqliteException>(() => orphan);
        Assert.Equal(0, await CountAsync("parent"));

        await lane.RunAsync(Insert("parent", 2));
        Assert.Equal([2L], await IdsAsync("parent"));
    }

    private static Func<DbConnection, DbTransaction, Task> Insert(string table, long id, long? parent = null) =>
        async (connection, transaction) =>
        {
            await using var command = connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = parent is null
                ? $"INSERT INTO {table} (id) VALUES ({id})"
                : $"INSERT INTO {table} (id, parent_id) VALUES ({id}, {parent})";
            await command.ExecuteNonQueryAsync();
        };

    private async Task<long> CountAsync(string table) => (await IdsAsync(table)).Count;

    private async Task<List<long>> IdsAsync(string table)
    {
        await using var connection = new SqliteConnection(ConnectionString);
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT id FROM {table} ORDER BY id";
        var ids = new List<long>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            ids.Add(reader.GetInt64(0));
        }

        return ids;
    }
}

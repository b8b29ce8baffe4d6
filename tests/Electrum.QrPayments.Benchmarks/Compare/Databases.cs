using System.Globalization;
using Npgsql;

namespace Electrum.QrPayments.Benchmarks.Compare;

/// <summary>Cumulative counts of one PostgreSQL database.</summary>
internal sealed record DatabaseStats(long Commits, long RowsWritten);

/// <summary>A database made for one child: how the service and the baseline name it.</summary>
internal sealed record FreshDatabase(string Label, string ServiceConnection, string BaselineConnection, string? PostgresName);

/// <summary>
/// Fresh databases, one per child process: a new SQLite file in the run's directory, or a new
/// PostgreSQL database created and dropped by the run (also when it is interrupted).
/// </summary>
internal sealed class Databases : IAsyncDisposable
{
    private readonly string directory;
    private readonly NpgsqlConnectionStringBuilder? postgres;
    private readonly NpgsqlDataSource? admin;
    private readonly List<FreshDatabase> live = [];

    public Databases(bool usePostgres, string directory, string postgresConnection, int poolSize)
    {
        this.directory = directory;
        if (usePostgres)
        {
            postgres = new NpgsqlConnectionStringBuilder(postgresConnection) { MaxPoolSize = poolSize };
            admin = NpgsqlDataSource.Create(new NpgsqlConnectionStringBuilder(postgresConnection) { Database = "postgres", MaxPoolSize = 2 }.ConnectionString);
        }
    }

    public bool IsPostgres => postgres is not null;

    public async Task<string> ServerVersionAsync()
    {
        if (admin is null)
        {
            using var sqlite = new Microsoft.Data.Sqlite.SqliteConnection();
            return "SQLite " + sqlite.ServerVersion;
        }

        await using var command = admin.CreateCommand("SHOW server_version");
        return "PostgreSQL " + await command.ExecuteScalarAsync();
    }

    public async Task<FreshDatabase> CreateAsync(string label)
    {
        FreshDatabase fresh;
        if (postgres is null || admin is null)
        {
            var path = Path.Combine(directory, label + ".db");
            fresh = new FreshDatabase(label, $"Data Source={path}", path, null);
        }
        else
        {
            var name = $"qr_bench_{label}_{Guid.NewGuid().ToString("N")[..8]}";
            await using (var command = admin.CreateCommand($"CREATE DATABASE \"{name}\""))
            {
                await command.ExecuteNonQueryAsync();
            }

            var connection = new NpgsqlConnectionStringBuilder(postgres.ConnectionString) { Database = name }.ConnectionString;
            fresh = new FreshDatabase(label, connection, connection, name);
        }

        lock (live)
        {
            live.Add(fresh);
        }

        return fresh;
    }

    public async Task DropAsync(FreshDatabase fresh)
    {
        lock (live)
        {
            live.Remove(fresh);
        }

        if (fresh.PostgresName is { } name && admin is not null)
        {
            await using var command = admin.CreateCommand($"DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
            await command.ExecuteNonQueryAsync();
            return;
        }

        foreach (var suffix in new[] { "", "-wal", "-shm" })
        {
            File.Delete(fresh.BaselineConnection + suffix);
        }
    }

    /// <summary>CPU seconds of the PostgreSQL backends serving this database now, by process id.</summary>
    public async Task<IReadOnlyDictionary<int, double>> BackendCpuAsync(FreshDatabase fresh)
    {
        var cpu = new Dictionary<int, double>();
        if (fresh.PostgresName is not { } name || admin is null)
        {
            return cpu;
        }

        await using var command = admin.CreateCommand("SELECT pid FROM pg_stat_activity WHERE datname = $1");
        command.Parameters.Add(new NpgsqlParameter { Value = name });
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            var pid = reader.GetInt32(0);
            if (ChildProcess.ReadCpuSeconds(pid) is { } seconds)
            {
                cpu[pid] = seconds;
            }
        }

        return cpu;
    }

    /// <summary>
    /// Transactions committed and rows written in this database so far (null on SQLite). Backends
    /// report these when idle, at most every 10 s: read them after <see cref="StatsDelay"/> of quiet.
    /// </summary>
    public async Task<DatabaseStats?> StatsAsync(FreshDatabase fresh)
    {
        if (fresh.PostgresName is not { } name || admin is null)
        {
            return null;
        }

        await using var command = admin.CreateCommand(
            "SELECT xact_commit, tup_inserted + tup_updated + tup_deleted FROM pg_stat_database WHERE datname = $1");
        command.Parameters.Add(new NpgsqlParameter { Value = name });
        await using var reader = await command.ExecuteReaderAsync();
        return await reader.ReadAsync() ? new DatabaseStats(reader.GetInt64(0), reader.GetInt64(1)) : null;
    }

    /// <summary>How long PostgreSQL 15 may keep an idle backend's counts before reporting them.</summary>
    public static TimeSpan StatsDelay { get; } = TimeSpan.FromSeconds(11);

    /// <summary>CPU the backends used between two samples (backends that ended in between are not seen).</summary>
    public static double BackendCpuBetween(IReadOnlyDictionary<int, double> before, IReadOnlyDictionary<int, double> after) =>
        after.Sum(a => a.Value - before.GetValueOrDefault(a.Key));

    public async ValueTask DisposeAsync()
    {
        FreshDatabase[] remaining;
        lock (live)
        {
            remaining = [.. live];
        }

        foreach (var fresh in remaining)
        {
            try
            {
                await DropAsync(fresh);
            }
            catch (NpgsqlException e)
            {
                await Console.Error.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"could not drop {fresh.PostgresName}: {e.Message}"));
            }
        }

        if (admin is not null)
        {
            await admin.DisposeAsync();
        }
    }
}

using Npgsql;

namespace Electrum.QrPayments.Tests.Infrastructure;

public enum Db
{
    Sqlite,
    Postgres,
}

/// <summary>
/// A database owned by one test: a fresh SQLite file, or a fresh PostgreSQL database dropped at
/// the end. PostgreSQL comes from QR_TEST_POSTGRES (a server connection string), else a local
/// server with the qr/qr role when one answers.
/// </summary>
public sealed class TestDatabase : IAsyncDisposable
{
    private readonly string? sqlitePath;
    private readonly string? postgresName;

    private TestDatabase(Db kind, string connectionString, string? sqlitePath, string? postgresName)
    {
        Kind = kind;
        ConnectionString = connectionString;
        this.sqlitePath = sqlitePath;
        this.postgresName = postgresName;
    }

    public Db Kind { get; }
    public string ConnectionString { get; }
    public string ProviderName => Kind == Db.Postgres ? "Postgres" : "Sqlite";

    public static TestDatabase Create(Db kind)
    {
        if (kind == Db.Sqlite)
        {
            var path = Path.Combine(Path.GetTempPath(), $"qr-test-{Guid.NewGuid():N}.db");
            return new TestDatabase(kind, $"Data Source={path}", path, null);
        }

        var name = $"qr_test_{Guid.NewGuid():N}";
        // Test classes run in parallel, each service (in-process or a child process) with its own pool:
        // small pools keep the sum under the server's max_connections (100 by default).
        var builder = new NpgsqlConnectionStringBuilder(PostgresServer.ConnectionString) { Database = name, MaxPoolSize = 10, Timeout = 15 };
        return new TestDatabase(kind, builder.ConnectionString, null, name);
    }

    public async ValueTask DisposeAsync()
    {
        if (sqlitePath is not null)
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            foreach (var suffix in new[] { "", "-wal", "-shm" })
            {
                try
                {
                    File.Delete(sqlitePath + suffix);
                }
                catch (IOException)
                {
                    // A file still held open is left to the temp directory's cleanup.
                }
            }
        }

        if (postgresName is not null)
        {
            NpgsqlConnection.ClearAllPools();
            await using var connection = new NpgsqlConnection(PostgresServer.ConnectionString);
            await connection.OpenAsync();
            await using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS \"{postgresName}\" WITH (FORCE)", connection);
            for (var attempt = 1; ; attempt++)
            {
                try
                {
                    await drop.ExecuteNonQueryAsync();
                    break;
                }
                catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.InsufficientPrivilege && attempt < 20)
                {
                    // A server process of another role (autovacuum on the new database) cannot be
                    // ended by this role; it finishes on its own within moments.
                    await Task.Delay(250);
                }
            }
        }
    }
}

/// <summary>Where the PostgreSQL tests run, and whether they can.</summary>
public static class PostgresServer
{
    public const string DefaultConnection = "Host=127.0.0.1;Port=5432;Username=qr;Password=qr;Database=postgres;Timeout=3";

    public static string ConnectionString { get; } =
        Environment.GetEnvironmentVariable("QR_TEST_POSTGRES") is { Length: > 0 } configured ? configured : DefaultConnection;

    /// <summary>CI sets QR_REQUIRE_POSTGRES=1: then the tests run (and fail) even if no server answers.</summary>
    public static bool Required => Environment.GetEnvironmentVariable("QR_REQUIRE_POSTGRES") == "1";

    public static bool Available { get; } = Probe();

    private static bool Probe()
    {
        try
        {
            using var connection = new NpgsqlConnection(ConnectionString);
            connection.Open();
            return true;
        }
        catch (NpgsqlException)
        {
            return false;
        }
        catch (TimeoutException)
        {
            return false;
        }
    }
}

/// <summary>The databases a test runs on: SQLite always, PostgreSQL when a server is available (always in CI).</summary>
public sealed class DatabasesAttribute : Xunit.Sdk.DataAttribute
{
    public override IEnumerable<object[]> GetData(System.Reflection.MethodInfo testMethod)
    {
        yield return [Db.Sqlite];
        if (PostgresServer.Available || PostgresServer.Required)
        {
            yield return [Db.Postgres];
        }
    }
}

/// <summary>A test that needs PostgreSQL (several instances on one database): runs where a server answers, always in CI.</summary>
public sealed class PostgresFactAttribute : FactAttribute
{
    public PostgresFactAttribute()
    {
        if (!PostgresServer.Available && !PostgresServer.Required)
        {
            Skip = "no PostgreSQL server (set QR_TEST_POSTGRES)";
        }
    }
}

using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Storage;
using Electrum.QrPayments.Api.Payments;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Electrum.QrPayments.Api.Persistence;

public static class Database
{
    public const string ConnectionName = "QrPayments";
    public const string DefaultSqlite = "Data Source=qrpayments.db";
    private static readonly SqliteConnectionSetup SqliteSetup = new();

    public static IServiceCollection AddQrDatabase(this IServiceCollection services, IConfiguration configuration)
    {
        var connectionString = configuration.GetConnectionString(ConnectionName) ?? DefaultSqlite;
        services.AddSingleton<SqliteWriteGate>();
        services.AddSingleton<SqliteStatementCache>();
        // One pool of contexts: a request's scoped context comes from it and goes back at the end of
        // the request, and a pay, which mostly waits, leases one per step through the factory.
        services.AddPooledDbContextFactory<QrDbContext>((sp, options) =>
        {
            switch (sp.GetRequiredService<IOptions<QrPaymentsOptions>>().Value.Database)
            {
                case DatabaseProvider.Postgres:
                    options.UseNpgsql(PostgresDefaults(connectionString));
                    break;
                default:
                    options.UseSqlite(connectionString).AddInterceptors(
                        sp.GetRequiredService<SqliteWriteGate>(), sp.GetRequiredService<SqliteStatementCache>(), SqliteSetup);
                    break;
            }

            // Interceptors registered in DI (diagnostics, tests) come after the write gate and the statement
            // cache: they see every command, but cannot rewrite the SQL of a write in the SQLite lane.
            options.AddInterceptors(sp.GetServices<IInterceptor>());
            // Migrations are hand-written (no model snapshot); SchemaDriftTests guard the model instead.
            options.ConfigureWarnings(w => w.Ignore(RelationalEventId.PendingModelChangesWarning));
        });
        services.AddScoped(sp => sp.GetRequiredService<IDbContextFactory<QrDbContext>>().CreateDbContext());

        // Held requests are woken across instances by PostgreSQL NOTIFY; one SQLite instance needs nothing.
        if (configuration.GetValue<DatabaseProvider>($"{QrPaymentsOptions.Section}:Database") == DatabaseProvider.Postgres)
        {
            // Signals need few connections: keep them from competing with the DbContext pool.
            services.AddSingleton(_ => NpgsqlDataSource.Create(new NpgsqlConnectionStringBuilder(connectionString) { MaxPoolSize = 3 }.ConnectionString));
            services.AddSingleton<ISignalTransport, PostgresSignalTransport>();
            services.AddHostedService<PostgresSignalListener>();
        }
        else
        {
            services.AddSingleton<ISignalTransport, LocalSignalTransport>();
            services.AddSingleton(sp => new SqliteWriteLane(
                sp.GetRequiredService<SqliteWriteGate>(), () => new QrDbContext(sp.GetRequiredService<DbContextOptions<QrDbContext>>()),
                sp.GetRequiredService<ILogger<SqliteWriteLane>>(), sp.GetRequiredService<SqliteStatementCache>()));
        }

        return services;
    }

    /// <summary>
    /// Npgsql settings for how EF uses connections: every query borrows a pooled connection, and
    /// resetting it on return (DISCARD ALL) would cost a round trip and a server transaction each
    /// time and drop its prepared statements. The service keeps no session state, so connections go
    /// back as they are, and statements used twice stay prepared. A setting in the connection string wins.
    /// </summary>
    public static string PostgresDefaults(string connectionString)
    {
        var given = new System.Data.Common.DbConnectionStringBuilder { ConnectionString = connectionString };
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        if (!given.ContainsKey("No Reset On Close") && !given.ContainsKey("NoResetOnClose"))
        {
            builder.NoResetOnClose = true;
        }

        if (!given.ContainsKey("Max Auto Prepare") && !given.ContainsKey("MaxAutoPrepare"))
        {
            builder.MaxAutoPrepare = 64;
        }

        return builder.ConnectionString;
    }

    /// <summary>Applies migrations at start-up; EF takes a database lock so racing instances are safe.</summary>
    public static void Migrate(IServiceProvider services)
    {
        using var scope = services.CreateScope();
        var db = scope.ServiceProvider.GetRequiredService<QrDbContext>();
        // Migrate would create a missing PostgreSQL database too, but only after logging the failed
        // connection as an error; a first start is not an error.
        var creator = db.GetService<IRelationalDatabaseCreator>();
        if (!creator.Exists())
        {
            try
            {
                creator.Create();
            }
            catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.DuplicateDatabase)
            {
                // Another instance created it first.
            }
        }

        db.Database.Migrate();
        if (db.Database.IsSqlite())
        {
            // WAL lets readers proceed while one writer commits.
            db.Database.ExecuteSqlRaw("PRAGMA journal_mode=WAL;");
        }
    }
}

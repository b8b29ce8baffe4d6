using Electrum.QrPayments.Api.Persistence;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Electrum.QrPayments.Tests.Persistence;

/// <summary>
/// The migrations are hand-written, so nothing else ties them to the EF model: this builds one
/// database from the migrations and another straight from the model, and compares their schemas.
/// </summary>
public class SchemaDriftTests
{
    [Theory]
    [Databases]
    public async Task Migrations_ComparedWithModel_ProduceTheSameSchema(Db db)
    {
        await using var service = new QrService(TestDatabase.Create(db));
        var migrated = await service.WithDbAsync(Describe);
        await using var fromModelDb = TestDatabase.Create(db);
        var options = new DbContextOptionsBuilder<QrDbContext>();
        _ = db == Db.Postgres ? options.UseNpgsql(fromModelDb.ConnectionString) : options.UseSqlite(fromModelDb.ConnectionString);
        await using var context = new QrDbContext(options.Options);
        await context.Database.EnsureCreatedAsync();

        var fromModel = await Describe(context);

        Assert.NotEmpty(migrated);
        Assert.Equal(fromModel, migrated);
    }

    [Theory]
    [Databases]
    public async Task Migrations_AfterStartup_NonePending(Db db)
    {
        await using var service = new QrService(TestDatabase.Create(db));

        var pending = await service.WithDbAsync(d => d.Database.GetPendingMigrationsAsync());

        Assert.Empty(pending);
    }

    private static async Task<List<string>> Describe(QrDbContext db)
    {
        var connection = db.Database.GetDbConnection();
        if (connection.State != System.Data.ConnectionState.Open)
        {
            await connection.OpenAsync();
        }

        var sql = db.Database.IsSqlite()
            ? """
              SELECT m.name || '.' || p.name || ' ' || p.type || (CASE WHEN p."notnull" = 1 THEN ' not null' ELSE '' END) || (CASE WHEN p.pk > 0 THEN ' pk' ELSE '' END)
              FROM sqlite_master m JOIN pragma_table_info(m.name) p
              WHERE m.type = 'table' AND m.name NOT IN ('__EFMigrationsHistory', '__EFMigrationsLock', 'sqlite_sequence')
              UNION ALL
              SELECT m.name || ' index ' || il.name || (CASE WHEN il."unique" = 1 THEN ' unique' ELSE '' END) || ' (' ||
                     (SELECT group_concat(ii.name, ',') FROM pragma_index_info(il.name) ii) || ')'
              FROM sqlite_master m JOIN pragma_index_list(m.name) il
              WHERE m.type = 'table' AND m.name NOT IN ('__EFMigrationsHistory', '__EFMigrationsLock', 'sqlite_sequence') AND il.origin <> 'pk'
              """
            : """
              SELECT table_name || '.' || column_name || ' ' || data_type || coalesce('(' || character_maximum_length || ')', '') ||
                     (CASE WHEN is_nullable = 'NO' THEN ' not null' ELSE '' END) || coalesce(' default ' || column_default, '')
              FROM information_schema.columns WHERE table_schema = 'public' AND table_name NOT IN ('__EFMigrationsHistory', '__EFMigrationsLock')
              UNION ALL
              SELECT tablename || ' ' || indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename NOT IN ('__EFMigrationsHistory', '__EFMigrationsLock')
              """;
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        var rows = new List<string>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            rows.Add(reader.GetString(0));
        }

        rows.Sort(StringComparer.Ordinal);
        return rows;
    }
}

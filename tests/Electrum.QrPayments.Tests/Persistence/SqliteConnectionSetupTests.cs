using Electrum.QrPayments.Api.Persistence;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Electrum.QrPayments.Tests.Persistence;

/// <summary>How the service sets up its SQLite connections (SqliteConnectionSetup).</summary>
public class SqliteConnectionSetupTests
{
    [Fact]
    public async Task Open_ServiceContextsAfterPoolsCleared_MapTheFile()
    {
        await using var partner = await Partner.StartAsync();
        await using var service = new QrService(TestDatabase.Create(Db.Sqlite), Flow.Settings(), partner, new ManualTimeProvider());
        var services = service.Services;
        // Idle native connections closed, so the opens below make native connections after the service
        // started, and the second takes one back from the pool.
        SqliteConnection.ClearAllPools();

        for (var open = 0; open < 2; open++)
        {
            await using var scope = services.CreateAsyncScope();
            var db = scope.ServiceProvider.GetRequiredService<QrDbContext>();
            Assert.Equal(SqliteConnectionSetup.MmapSize, Assert.Single(await db.Database.SqlQueryRaw<long>("PRAGMA mmap_size").ToListAsync()));
        }
    }
}

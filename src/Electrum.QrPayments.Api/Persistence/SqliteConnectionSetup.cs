using System.Data.Common;
using System.Runtime.CompilerServices;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace Electrum.QrPayments.Api.Persistence;

/// <summary>
/// Maps the database file into memory on every SQLite connection. In WAL mode a connection drops its
/// whole page cache whenever another connection has written since its last read, which under load is
/// every read: without a mapping each page it touches again is copied in by a read() call.
/// </summary>
public sealed class SqliteConnectionSetup : DbConnectionInterceptor
{
    /// <summary>Bytes of the file mapped (SQLite maps at most this much, and only what the file holds).</summary>
    public const long MmapSize = 256L * 1024 * 1024;

    // Pooled native connections keep the setting: each is set up once, not on every open.
    private readonly ConditionalWeakTable<object, object> done = [];

    public override void ConnectionOpened(DbConnection connection, ConnectionEndEventData eventData) => SetUp(connection);

    public override Task ConnectionOpenedAsync(DbConnection connection, ConnectionEndEventData eventData, CancellationToken cancellationToken = default)
    {
        SetUp(connection);
        return Task.CompletedTask;
    }

    private void SetUp(DbConnection connection)
    {
        if (connection is not SqliteConnection { Handle: { } handle } sqlite || done.TryGetValue(handle, out _))
        {
            return;
        }

        using var command = sqlite.CreateCommand();
        command.CommandText = $"PRAGMA mmap_size={MmapSize};";
        command.ExecuteNonQuery();
        done.AddOrUpdate(handle, this);
    }
}

using System.Data.Common;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace Electrum.QrPayments.Tests.Infrastructure;

/// <summary>
/// Stands in for another instance that tried an advice between this dispatcher's search for due
/// advices and its claim: right after the first search that finds rows, every pending advice's
/// next attempt is moved a day on, on a connection of its own.
/// </summary>
public sealed class DueAdviceDeferral(Func<DbConnection> connect) : DbCommandInterceptor
{
    private int done;

    public bool Deferred => Volatile.Read(ref done) == 1;

    public override async ValueTask<DbDataReader> ReaderExecutedAsync(DbCommand command, CommandExecutedEventData eventData, DbDataReader result,
        CancellationToken cancellationToken = default)
    {
        // The per-partner search is the one that orders by id and returns whole rows.
        if (result.HasRows && command.CommandText.Contains("next_attempt_at", StringComparison.Ordinal) &&
            command.CommandText.Contains("ORDER BY", StringComparison.Ordinal) &&
            !command.CommandText.TrimStart().StartsWith("UPDATE", StringComparison.OrdinalIgnoreCase) &&
            Interlocked.CompareExchange(ref done, 1, 0) == 0)
        {
            await using var connection = connect();
            await connection.OpenAsync(cancellationToken);
            await using var defer = connection.CreateCommand();
            defer.CommandText = "UPDATE outbox SET next_attempt_at = @later WHERE state = 'Pending'";
            var later = defer.CreateParameter();
            later.ParameterName = "@later";
            later.Value = DateTime.UtcNow.AddDays(1);
            defer.Parameters.Add(later);
            await defer.ExecuteNonQueryAsync(cancellationToken);
        }

        return result;
    }
}

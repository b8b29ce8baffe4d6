using System.Data.Common;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace Electrum.QrPayments.Tests.Infrastructure;

/// <summary>Shows a test every command the service runs (readers and non-queries) as its SQL text, to count what it cares about.</summary>
public abstract class CommandTextCounter : DbCommandInterceptor
{
    public override ValueTask<InterceptionResult<DbDataReader>> ReaderExecutingAsync(
        DbCommand command, CommandEventData eventData, InterceptionResult<DbDataReader> result, CancellationToken cancellationToken = default)
    {
        Count(command.CommandText);
        return ValueTask.FromResult(result);
    }

    public override ValueTask<InterceptionResult<int>> NonQueryExecutingAsync(
        DbCommand command, CommandEventData eventData, InterceptionResult<int> result, CancellationToken cancellationToken = default)
    {
        Count(command.CommandText);
        return ValueTask.FromResult(result);
    }

    /// <summary>Called for each command before it runs, from any thread.</summary>
    protected abstract void Count(string sql);
}

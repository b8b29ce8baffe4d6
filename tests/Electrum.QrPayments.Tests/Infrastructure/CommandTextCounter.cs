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

/// <summary>Counts the commands whose SQL matches each of its patterns (regular expressions, matched across lines).</summary>
public sealed class SqlPatternCounter(params string[] patterns) : CommandTextCounter
{
    private readonly System.Text.RegularExpressions.Regex[] regexes =
        [.. patterns.Select(p => new System.Text.RegularExpressions.Regex(p, System.Text.RegularExpressions.RegexOptions.Singleline))];

    private readonly int[] counts = new int[patterns.Length];

    /// <summary>Commands so far that matched the pattern at this position.</summary>
    public int this[int pattern] => Volatile.Read(ref counts[pattern]);

    protected override void Count(string sql)
    {
        for (var i = 0; i < regexes.Length; i++)
        {
            if (regexes[i].IsMatch(sql))
            {
                Interlocked.Increment(ref counts[i]);
            }
        }
    }
}

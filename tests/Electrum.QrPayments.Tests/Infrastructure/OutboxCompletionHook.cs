using System.Data.Common;
using System.Text.RegularExpressions;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace Electrum.QrPayments.Tests.Infrastructure;

/// <summary>
/// Stands in for a database that will not record a delivery's result: the dispatcher's completion
/// UPDATE (the one that sets an outbox item's state) fails the first <see cref="FailTimes"/> times,
/// or, with <see cref="HoldFirst"/>, the first one waits until <see cref="Release"/> (with
/// <see cref="HoldAll"/>, every one does).
/// </summary>
public sealed partial class OutboxCompletionHook : DbCommandInterceptor
{
    private readonly TaskCompletionSource held = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource release = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int seen;

    public int FailTimes { get; init; }
    public bool HoldFirst { get; init; }
    public bool HoldAll { get; init; }

    /// <summary>Completions seen so far (failed, held or let through).</summary>
    public int Seen => Volatile.Read(ref seen);

    /// <summary>Completes when the first completion is being held.</summary>
    public Task Held => held.Task;

    public void Release() => release.TrySetResult();

    /// <summary>
    /// Releases what is held when disposed: declared after the service, it is disposed before it, so
    /// a test that fails while completions are held does not leave the service's stop waiting on them.
    /// </summary>
    public IDisposable ReleasedAtEnd() => new Releaser(this);

    public override async ValueTask<InterceptionResult<int>> NonQueryExecutingAsync(DbCommand command, CommandEventData eventData,
        InterceptionResult<int> result, CancellationToken cancellationToken = default)
    {
        if (!IsCompletion(command.CommandText))
        {
            return result;
        }

        var n = Interlocked.Increment(ref seen);
        if (n <= FailTimes)
        {
            throw new InvalidOperationException($"completion {n} refused by the test");
        }

        if ((HoldFirst && n == 1) || HoldAll)
        {
            held.TrySetResult();
            await release.Task.WaitAsync(cancellationToken);
        }

        return result;
    }

    // SQLite quotes identifiers and PostgreSQL does not; the claim sets lease_owner first, the completion state.
    private static bool IsCompletion(string sql) => Completion().IsMatch(sql);

    [GeneratedRegex("""^\s*UPDATE\s+"?outbox"?\b.*?\bSET\s+"?state"?\s*=""", RegexOptions.Singleline | RegexOptions.IgnoreCase)]
    private static partial Regex Completion();

    private sealed class Releaser(OutboxCompletionHook hook) : IDisposable
    {
        public void Dispose() => hook.Release();
    }
}

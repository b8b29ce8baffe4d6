using System.Data.Common;
using System.Runtime.CompilerServices;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace Electrum.QrPayments.Api.Persistence;

/// <summary>
/// SQLite takes one writer at a time, and Microsoft.Data.Sqlite answers a second writer's
/// SQLITE_BUSY by sleeping 150 ms on a blocked thread and trying again. So every write in this
/// process takes one async lock first: a SaveChanges (<see cref="QrDbContext"/> holds it around
/// the whole save) or an UPDATE/INSERT/DELETE run on its own (this interceptor holds it around the
/// command). Writers queue without a thread each and never meet SQLITE_BUSY; readers (WAL) never wait.
/// </summary>
public sealed class SqliteWriteGate : IDbCommandInterceptor
{
    private readonly SemaphoreSlim gate = new(1, 1);

    // Commands that took the gate for themselves, to release it when they end.
    private readonly ConditionalWeakTable<DbCommand, object> commands = [];

    public Task EnterAsync(CancellationToken ct) => gate.WaitAsync(ct);

    public void Enter() => gate.Wait();

    public void Leave() => gate.Release();

    public InterceptionResult<int> NonQueryExecuting(DbCommand command, CommandEventData eventData, InterceptionResult<int> result)
    {
        if (NeedsGate(command, eventData.Context))
        {
            gate.Wait();
            commands.AddOrUpdate(command, this);
        }

        return result;
    }

    public async ValueTask<InterceptionResult<int>> NonQueryExecutingAsync(DbCommand command, CommandEventData eventData, InterceptionResult<int> result,
        CancellationToken cancellationToken = default)
    {
        if (NeedsGate(command, eventData.Context))
        {
            await gate.WaitAsync(cancellationToken);
            commands.AddOrUpdate(command, this);
        }

        return result;
    }

    public int NonQueryExecuted(DbCommand command, CommandExecutedEventData eventData, int result)
    {
        LeaveCommand(command);
        return result;
    }

    public ValueTask<int> NonQueryExecutedAsync(DbCommand command, CommandExecutedEventData eventData, int result, CancellationToken cancellationToken = default)
    {
        LeaveCommand(command);
        return ValueTask.FromResult(result);
    }

    public void CommandFailed(DbCommand command, CommandErrorEventData eventData) => LeaveCommand(command);

    public Task CommandFailedAsync(DbCommand command, CommandErrorEventData eventData, CancellationToken cancellationToken = default)
    {
        LeaveCommand(command);
        return Task.CompletedTask;
    }

    public void CommandCanceled(DbCommand command, CommandEndEventData eventData) => LeaveCommand(command);

    public Task CommandCanceledAsync(DbCommand command, CommandEndEventData eventData, CancellationToken cancellationToken = default)
    {
        LeaveCommand(command);
        return Task.CompletedTask;
    }

    private void LeaveCommand(DbCommand command)
    {
        if (commands.Remove(command))
        {
            gate.Release();
        }
    }

    // A write outside SaveChanges (ExecuteUpdate, ExecuteDelete, raw SQL); migrations run before any request.
    private static bool NeedsGate(DbCommand command, DbContext? context) =>
        context is not QrDbContext { HoldsWriteGate: true } && IsWrite(command.CommandText);

    private static bool IsWrite(string sql)
    {
        var text = sql.AsSpan().TrimStart();
        return text.StartsWith("UPDATE", StringComparison.OrdinalIgnoreCase) ||
               text.StartsWith("INSERT", StringComparison.OrdinalIgnoreCase) ||
               text.StartsWith("DELETE", StringComparison.OrdinalIgnoreCase);
    }
}

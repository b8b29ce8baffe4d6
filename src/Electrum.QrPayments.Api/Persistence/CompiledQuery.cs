using System.Runtime.CompilerServices;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata;

namespace Electrum.QrPayments.Api.Persistence;

/// <summary>
/// A query on a hot path, compiled once so each call skips EF's translation-cache lookup. EF binds a
/// compiled query to the model (and so the database) of the first context that runs it, and one
/// process can hold several models (the tests run SQLite and PostgreSQL side by side): one per model.
/// </summary>
public sealed class CompiledQuery<TQuery>(Func<TQuery> compile)
    where TQuery : class
{
    private readonly ConditionalWeakTable<IModel, TQuery> compiled = new();

    public TQuery For(DbContext db)
    {
        ArgumentNullException.ThrowIfNull(db);
        return compiled.GetValue(db.Model, _ => compile());
    }
}

using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Text;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.ChangeTracking;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Metadata;
using Microsoft.EntityFrameworkCore.Storage;

namespace Electrum.QrPayments.Api.Persistence;

/// <summary>
/// Writes a save of new rows and versioned payment changes as one command built from the model,
/// past EF's update pipeline (which cost a quarter of the service's CPU: per save it builds
/// modification commands, sorts them, generates their SQL and binds each value afresh). The SQL
/// of each shape of save (which tables, which columns changed) is built once per model and kept;
/// a save only binds its values. It runs through EF's command pipeline, so command interceptors,
/// logging and the connection and transaction in use are EF's own; SaveChanges events and save
/// interceptors are not raised (the service has none). Statements come in EF's order (rows that
/// depend on a row inserted in the same save after the rest, and by table within each), so a save
/// fails on the same index it would fail on under EF; keys the database generates come back with
/// RETURNING, as they would under EF. Anything unusual (a delete, a key set by hand where the
/// database generates it, a new principal whose key the database generates, new and changed rows
/// of one table together, a large save) is left to EF.
/// </summary>
internal static class DirectSave
{
    // Larger saves (none on the hot path) go to EF, so the shapes kept stay few.
    private const int MaxRows = 16;

    private static readonly ConditionalWeakTable<IModel, ConcurrentDictionary<string, Shape>> Shapes = new();

    /// <summary>
    /// The rows to write, in statement order; null when the save has anything else (a delete, a
    /// change the database would not check itself, see the class summary): EF writes those.
    /// </summary>
    public static List<EntityEntry>? Rows(DbContext db, Func<EntityEntry, bool> isCheckedChange)
    {
        List<EntityEntry>? rows = null;
        foreach (var entry in db.ChangeTracker.Entries())
        {
            switch (entry.State)
            {
                case EntityState.Unchanged or EntityState.Detached:
                    continue;
                case EntityState.Added when IsPlainInsert(entry):
                case EntityState.Modified when isCheckedChange(entry):
                    (rows ??= []).Add(entry);
                    if (rows.Count > MaxRows)
                    {
                        return null;
                    }

                    continue;
                default:
                    return null;
            }
        }

        // EF orders the rows of one table by what each does (an update that frees a unique value
        // before the insert that takes it); the service never saves both in one table, so such a
        // save is left to EF rather than ordered here.
        if (rows is null || rows.GroupBy(r => r.Metadata).Any(g => g.Select(r => r.State).Distinct().Skip(1).Any()))
        {
            return null;
        }

        // OrderBy is stable: rows of one table keep the order they were tracked in.
        var inserted = rows.Where(r => r.State == EntityState.Added).Select(r => r.Metadata).ToHashSet();
        return rows.OrderBy(r => DependsOnInserted(r, inserted) ? 1 : 0)
            .ThenBy(r => r.Metadata.GetTableName(), StringComparer.Ordinal).ToList();
    }

    // Every column the database generates (an identity) still holds EF's temporary value, so the
    // statement leaves them all out and reads them back; and no other row of the save can need them.
    private static bool IsPlainInsert(EntityEntry entry)
    {
        foreach (var property in entry.Metadata.GetProperties())
        {
            if (property.ValueGenerated.HasFlag(ValueGenerated.OnAdd) &&
                (!entry.Property(property.Name).IsTemporary || property.IsKey() && entry.Metadata.GetReferencingForeignKeys().Any()))
            {
                return false;
            }
        }

        return true;
    }

    // A new row that refers to a row inserted in the same save (an audit row to its new payment).
    private static bool DependsOnInserted(EntityEntry row, HashSet<IEntityType> inserted) =>
        row.State == EntityState.Added && row.Metadata.GetForeignKeys().Any(f => inserted.Contains(f.PrincipalEntityType));

    /// <summary>Writes the rows; throws as SaveChanges would (DbUpdateException, DbUpdateConcurrencyException).</summary>
    public static async Task<int> WriteAsync(DbContext db, List<EntityEntry> rows)
    {
        var shape = Shapes.GetValue(db.Model, _ => new ConcurrentDictionary<string, Shape>(StringComparer.Ordinal))
            .GetOrAdd(Key(rows), static (_, state) => Shape.Build(state.db, state.rows), (db, rows));
        var values = new Dictionary<string, object?>(shape.Parameters.Count, StringComparer.Ordinal);
        var current = new PropertyValues?[rows.Count];
        var original = new PropertyValues?[rows.Count];
        foreach (var parameter in shape.Parameters)
        {
            var row = parameter.Row;
            values[parameter.Name] = parameter.Original
                ? (original[row] ??= rows[row].OriginalValues)[parameter.Property]
                : (current[row] ??= rows[row].CurrentValues)[parameter.Property];
        }

        var generated = new List<(EntityEntry Row, IProperty Property, object Value)>();
        int affected;
        // A command reuses its reader, so the shared template is run by a command of this context's
        // connection, as EF runs its cached queries.
        var connection = db.GetService<IRelationalConnection>();
        var command = connection.RentCommand();
        command.PopulateFrom(shape.Command);
        try
        {
            await using var reader = await command.ExecuteReaderAsync(new RelationalCommandParameterObject(
                connection, values, null, db, db.GetService<IRelationalCommandDiagnosticsLogger>(), CommandSource.SaveChanges));
            var results = reader.DbDataReader;
            var returned = 0;
            do
            {
                // A provider may show a statement without RETURNING as an empty result.
                if (results.FieldCount == 0)
                {
                    continue;
                }

                var (row, properties) = shape.Returning[returned++];
                if (!await results.ReadAsync())
                {
                    throw new DbUpdateConcurrencyException("An insert returned no row.");
                }

                for (var i = 0; i < properties.Count; i++)
                {
                    generated.Add((rows[row], properties[i], results.GetValue(i)));
                }
            }
            while (await results.NextResultAsync());

            await results.CloseAsync();
            affected = results.RecordsAffected;
        }
        catch (Exception e) when (e is not DbUpdateException and not OperationCanceledException)
        {
            // As EF's save does: callers tell a refused row from a lost race by the inner exception.
            throw new DbUpdateException("An error occurred while saving the entity changes. See the inner exception for details.", e, rows);
        }
        finally
        {
            connection.ReturnCommand(command);
        }

        // Every statement writes one row; a versioned update that found its version gone writes none.
        if (affected != rows.Count)
        {
            throw new DbUpdateConcurrencyException(
                $"The save expected to write {rows.Count} rows but wrote {affected}; a row changed since it was read.");
        }

        foreach (var (row, property, value) in generated)
        {
            var converter = property.GetTypeMapping().Converter;
            var column = row.Property(property.Name);
            column.CurrentValue = converter is null
                ? Convert.ChangeType(value, property.ClrType, System.Globalization.CultureInfo.InvariantCulture)
                : converter.ConvertFromProvider(value);
            column.IsTemporary = false;
        }

        return rows.Count;
    }

    // What decides the SQL: each row's table, whether it is new, and which columns a change sets.
    private static string Key(List<EntityEntry> rows)
    {
        var key = new StringBuilder();
        foreach (var row in rows)
        {
            key.Append(row.Metadata.Name).Append(row.State == EntityState.Added ? '+' : '~');
            if (row.State == EntityState.Modified)
            {
                foreach (var property in row.Properties)
                {
                    key.Append(property.IsModified ? '1' : '0');
                }
            }

            key.Append(';');
        }

        return key.ToString();
    }

    private sealed record Parameter(string Name, int Row, IProperty Property, bool Original);

    private sealed class Shape(IRelationalCommandTemplate command, List<Parameter> parameters, List<(int Row, List<IProperty> Properties)> returning)
    {
        public IRelationalCommandTemplate Command { get; } = command;
        public List<Parameter> Parameters { get; } = parameters;

        /// <summary>The statements with RETURNING, in order: the row and the generated columns it returns.</summary>
        public List<(int Row, List<IProperty> Properties)> Returning { get; } = returning;

        public static Shape Build(DbContext db, List<EntityEntry> rows)
        {
            var sql = db.GetService<ISqlGenerationHelper>();
            var builder = db.GetService<IRelationalCommandBuilderFactory>().Create();
            var parameters = new List<Parameter>();
            var returning = new List<(int, List<IProperty>)>();
            string Bind(int row, IProperty property, bool original)
            {
                var name = "p" + parameters.Count.ToString(System.Globalization.CultureInfo.InvariantCulture);
                parameters.Add(new Parameter(name, row, property, original));
                builder.AddParameter(name, sql.GenerateParameterName(name), property.GetRelationalTypeMapping(), property.IsNullable);
                return sql.GenerateParameterNamePlaceholder(name);
            }

            string Column(IProperty property) => sql.DelimitIdentifier(property.GetColumnName());

            for (var index = 0; index < rows.Count; index++)
            {
                var row = rows[index];
                var type = row.Metadata;
                var table = sql.DelimitIdentifier(type.GetTableName()!, type.GetSchema());
                if (row.State == EntityState.Added)
                {
                    // A column the database fills (an identity) is left out and read back.
                    var written = type.GetProperties().Where(p => !p.ValueGenerated.HasFlag(ValueGenerated.OnAdd)).ToList();
                    var generated = type.GetProperties().Except(written).ToList();
                    builder.Append($"INSERT INTO {table} ({string.Join(", ", written.Select(Column))})")
                        .Append($" VALUES ({string.Join(", ", written.Select(p => Bind(index, p, original: false)))})");
                    if (generated.Count > 0)
                    {
                        builder.Append($" RETURNING {string.Join(", ", generated.Select(Column))}");
                        returning.Add((index, generated));
                    }
                }
                else
                {
                    // The changed columns, where the key and every concurrency token still hold what was read.
                    var set = row.Properties.Where(p => p.IsModified).Select(p => (IProperty)p.Metadata);
                    var where = type.FindPrimaryKey()!.Properties.Concat(type.GetProperties().Where(p => p.IsConcurrencyToken));
                    builder.Append($"UPDATE {table} SET {string.Join(", ", set.Select(p => $"{Column(p)} = {Bind(index, p, original: false)}"))}")
                        .Append($" WHERE {string.Join(" AND ", where.Select(p => $"{Column(p)} = {Bind(index, p, original: true)}"))}");
                }

                builder.Append(sql.StatementTerminator).AppendLine();
            }

            return new Shape(builder.Build(), parameters, returning);
        }
    }
}

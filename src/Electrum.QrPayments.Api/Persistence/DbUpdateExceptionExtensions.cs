using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace Electrum.QrPayments.Api.Persistence;

public static class DbUpdateExceptionExtensions
{
    private const int SqliteConstraint = 19;
    private const int SqliteConstraintUnique = 2067;
    private const int SqliteConstraintPrimaryKey = 1555;

    /// <summary>True when the insert lost a race on a unique index (the other writer won).</summary>
    public static bool IsUniqueViolation(this DbUpdateException exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        return exception.InnerException switch
        {
            SqliteException { SqliteErrorCode: SqliteConstraint } s =>
                s.SqliteExtendedErrorCode is SqliteConstraintUnique or SqliteConstraintPrimaryKey,
            PostgresException p => p.SqlState == PostgresErrorCodes.UniqueViolation,
            _ => false,
        };
    }

    /// <summary>True when the insert lost a race on this unique index (PostgreSQL names the index, SQLite the column).</summary>
    public static bool IsUniqueViolation(this DbUpdateException exception, string indexName, string sqliteColumn)
    {
        ArgumentNullException.ThrowIfNull(exception);
        return exception.IsUniqueViolation() && exception.InnerException switch
        {
            PostgresException p => p.ConstraintName == indexName,
            SqliteException s => s.Message.Contains(sqliteColumn, StringComparison.Ordinal),
            _ => false,
        };
    }
}

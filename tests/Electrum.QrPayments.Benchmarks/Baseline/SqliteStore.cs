using Microsoft.Data.Sqlite;

namespace Electrum.QrPayments.Benchmarks.Baseline;

/// <summary>
/// SQLite in WAL with synchronous=FULL. Every statement is a write, and SQLite takes one writer at a
/// time, so all of them go through one in-process lock on one open connection with prepared
/// statements: the baseline never meets SQLITE_BUSY (which Microsoft.Data.Sqlite answers by sleeping
/// 150 ms) and never pays for opening a connection.
/// </summary>
internal sealed class SqliteStore : IBaselineStore
{
    private const string Schema = """
        CREATE TABLE IF NOT EXISTS qr_codes (
            tran_id TEXT PRIMARY KEY, message_id TEXT NOT NULL, client_id TEXT NOT NULL,
            amount INTEGER, currency TEXT, payload TEXT NOT NULL, created_at TEXT NOT NULL);
        CREATE TABLE IF NOT EXISTS payments (
            id TEXT PRIMARY KEY, tran_id TEXT NOT NULL, client_id TEXT NOT NULL, amount INTEGER, currency TEXT,
            state TEXT NOT NULL, partner_id TEXT, partner_token TEXT, partner_request_id TEXT,
            partner_status INTEGER, partner_answer TEXT, created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
        CREATE TABLE IF NOT EXISTS advices (
            id TEXT PRIMARY KEY, payment_id TEXT NOT NULL, kind TEXT NOT NULL, partner_request_id TEXT NOT NULL,
            tran_id TEXT NOT NULL, partner_id TEXT NOT NULL, state TEXT NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
        """;

    private readonly SqliteConnection connection;
    private readonly SemaphoreSlim writeLock = new(1, 1);
    private readonly SqliteCommand insertQrCode;
    private readonly SqliteCommand insertPayment;
    private readonly SqliteCommand markScanned;
    private readonly SqliteCommand recordOutcome;
    private readonly SqliteCommand advise;
    private readonly SqliteCommand insertAdvice;
    private readonly SqliteCommand markAdvice;

    public SqliteStore(string path)
    {
        connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path }.ToString());
        connection.Open();
        Execute("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;");
        Execute(Schema);
        insertQrCode = Prepare("INSERT INTO qr_codes VALUES ($tran, $msg, $client, $amount, $currency, $payload, $now)");
        insertPayment = Prepare("INSERT INTO payments (id, tran_id, client_id, amount, currency, state, created_at, updated_at) " +
                                "VALUES ($id, $tran, $client, $amount, $currency, 'AwaitingScan', $now, $now)");
        markScanned = Prepare("UPDATE payments SET state = 'Scanned', partner_id = $partner, partner_token = $token, " +
                              "partner_request_id = $preq, updated_at = $now WHERE id = $id AND state = 'AwaitingScan'");
        recordOutcome = Prepare("UPDATE payments SET state = $state, partner_status = $status, partner_answer = $answer, updated_at = $now WHERE id = $id");
        advise = Prepare("UPDATE payments SET state = $state, updated_at = $now WHERE id = $id AND client_id = $client AND state = 'Approved' " +
                         "RETURNING partner_request_id, tran_id, partner_id");
        insertAdvice = Prepare("INSERT INTO advices VALUES ($id, $payment, $kind, $preq, $tran, $partner, 'Pending', $now, $now)");
        markAdvice = Prepare("UPDATE advices SET state = $state, updated_at = $now WHERE id = $id");
    }

    public Task InsertQrCodeAsync(string tranId, string messageId, string clientId, long? amount, string? currency, string payload, DateTimeOffset now) =>
        WriteAsync(() => Run(insertQrCode, ("$tran", tranId), ("$msg", messageId), ("$client", clientId), ("$amount", amount),
            ("$currency", currency), ("$payload", payload), ("$now", now)));

    public Task InsertPaymentAsync(string id, string tranId, string clientId, long? amount, string? currency, DateTimeOffset now) =>
        WriteAsync(() => Run(insertPayment, ("$id", id), ("$tran", tranId), ("$client", clientId), ("$amount", amount), ("$currency", currency), ("$now", now)));

    public Task<bool> MarkScannedAsync(string id, string partnerId, string? token, string partnerRequestId, DateTimeOffset now) =>
        WriteAsync(() => Run(markScanned, ("$id", id), ("$partner", partnerId), ("$token", token), ("$preq", partnerRequestId), ("$now", now)) == 1);

    public Task RecordOutcomeAsync(string id, string state, int partnerStatus, string? answer, DateTimeOffset now) =>
        WriteAsync(() => Run(recordOutcome, ("$id", id), ("$state", state), ("$status", partnerStatus), ("$answer", answer), ("$now", now)));

    public Task<AdvisedPayment?> AdviseAsync(string paymentId, string clientId, string state, string adviceId, string kind, DateTimeOffset now) =>
        WriteAsync(() =>
        {
            using var transaction = connection.BeginTransaction();
            advise.Transaction = transaction;
            insertAdvice.Transaction = transaction;
            try
            {
                Bind(advise, ("$id", paymentId), ("$client", clientId), ("$state", state), ("$now", now));
                AdvisedPayment? found = null;
                using (var reader = advise.ExecuteReader())
                {
                    if (reader.Read())
                    {
                        found = new AdvisedPayment(reader.GetString(0), reader.GetString(1), reader.GetString(2));
                    }
                }

                if (found is null)
                {
                    transaction.Rollback();
                    return null;
                }

                Run(insertAdvice, ("$id", adviceId), ("$payment", paymentId), ("$kind", kind), ("$preq", found.PartnerRequestId),
                    ("$tran", found.TranId), ("$partner", found.PartnerId), ("$now", now));
                transaction.Commit();
                return found;
            }
            finally
            {
                advise.Transaction = null;
                insertAdvice.Transaction = null;
            }
        });

    public Task MarkAdviceAsync(string adviceId, string state, DateTimeOffset now) =>
        WriteAsync(() => Run(markAdvice, ("$id", adviceId), ("$state", state), ("$now", now)));

    public async ValueTask DisposeAsync()
    {
        await writeLock.WaitAsync();
        foreach (var command in new[] { insertQrCode, insertPayment, markScanned, recordOutcome, advise, insertAdvice, markAdvice })
        {
            await command.DisposeAsync();
        }

        await connection.DisposeAsync();
        writeLock.Dispose();
    }

    private async Task<T> WriteAsync<T>(Func<T> write)
    {
        await writeLock.WaitAsync();
        try
        {
            return write();
        }
        finally
        {
            writeLock.Release();
        }
    }

    private async Task WriteAsync(Func<int> write) => await WriteAsync<int>(write);

    private void Execute(string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    private SqliteCommand Prepare(string sql)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Prepare();
        return command;
    }

    private static int Run(SqliteCommand command, params (string Name, object? Value)[] values)
    {
        Bind(command, values);
        return command.ExecuteNonQuery();
    }

    // Parameters are created on first use and reused: the commands live as long as the store.
    private static void Bind(SqliteCommand command, params (string Name, object? Value)[] values)
    {
        foreach (var (name, value) in values)
        {
            var parameter = command.Parameters.Contains(name) ? command.Parameters[name] : command.Parameters.Add(new SqliteParameter { ParameterName = name });
            parameter.Value = value ?? DBNull.Value;
        }
    }
}

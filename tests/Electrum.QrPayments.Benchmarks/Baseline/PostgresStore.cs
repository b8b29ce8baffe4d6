using Npgsql;

namespace Electrum.QrPayments.Benchmarks.Baseline;

/// <summary>
/// PostgreSQL with the server's default settings (synchronous_commit on): one statement per step on a
/// pooled connection, each its own transaction, positional parameters and automatic preparation so
/// the server plans each statement once, and no session reset between uses of a pooled connection.
/// </summary>
internal sealed class PostgresStore : IBaselineStore
{
    private const string Schema = """
        CREATE TABLE IF NOT EXISTS qr_codes (
            tran_id text PRIMARY KEY, message_id text NOT NULL, client_id text NOT NULL,
            amount bigint, currency text, payload text NOT NULL, created_at timestamptz NOT NULL);
        CREATE TABLE IF NOT EXISTS payments (
            id text PRIMARY KEY, tran_id text NOT NULL, client_id text NOT NULL, amount bigint, currency text,
            state text NOT NULL, partner_id text, partner_token text, partner_request_id text,
            partner_status integer, partner_answer text, created_at timestamptz NOT NULL, updated_at timestamptz NOT NULL);
        CREATE TABLE IF NOT EXISTS advices (
            id text PRIMARY KEY, payment_id text NOT NULL, kind text NOT NULL, partner_request_id text NOT NULL,
            tran_id text NOT NULL, partner_id text NOT NULL, state text NOT NULL, created_at timestamptz NOT NULL, updated_at timestamptz NOT NULL);
        """;

    private readonly NpgsqlDataSource dataSource;

    private PostgresStore(NpgsqlDataSource dataSource) => this.dataSource = dataSource;

    public static async Task<PostgresStore> OpenAsync(string connectionString)
    {
        // The baseline sets no session state, so the reset a pooled connection gets on reuse (one more
        // transaction per call) buys it nothing.
        var builder = new NpgsqlConnectionStringBuilder(connectionString) { MaxAutoPrepare = 16, AutoPrepareMinUsages = 2, NoResetOnClose = true };
        var store = new PostgresStore(NpgsqlDataSource.Create(builder.ConnectionString));
        await using var command = store.dataSource.CreateCommand(Schema);
        await command.ExecuteNonQueryAsync();
        return store;
    }

    public Task InsertQrCodeAsync(string tranId, string messageId, string clientId, long? amount, string? currency, string payload, DateTimeOffset now) =>
        RunAsync("INSERT INTO qr_codes VALUES ($1, $2, $3, $4, $5, $6, $7)", tranId, messageId, clientId, amount, currency, payload, now);

    public Task InsertPaymentAsync(string id, string tranId, string clientId, long? amount, string? currency, DateTimeOffset now) =>
        RunAsync("INSERT INTO payments (id, tran_id, client_id, amount, currency, state, created_at, updated_at) " +
                 "VALUES ($1, $2, $3, $4, $5, 'AwaitingScan', $6, $6)", id, tranId, clientId, amount, currency, now);

    public async Task<bool> MarkScannedAsync(string id, string partnerId, string? token, string partnerRequestId, DateTimeOffset now) =>
        await RunAsync("UPDATE payments SET state = 'Scanned', partner_id = $2, partner_token = $3, partner_request_id = $4, updated_at = $5 " +
                       "WHERE id = $1 AND state = 'AwaitingScan'", id, partnerId, token, partnerRequestId, now) == 1;

    public Task RecordOutcomeAsync(string id, string state, int partnerStatus, string? answer, DateTimeOffset now) =>
        RunAsync("UPDATE payments SET state = $2, partner_status = $3, partner_answer = $4, updated_at = $5 WHERE id = $1",
            id, state, partnerStatus, answer, now);

    // One statement, so one implicit transaction: the state change and its advice row commit together.
    public async Task<AdvisedPayment?> AdviseAsync(string paymentId, string clientId, string state, string adviceId, string kind, DateTimeOffset now)
    {
        await using var command = Command(
            "WITH p AS (UPDATE payments SET state = $3, updated_at = $6 WHERE id = $1 AND client_id = $2 AND state = 'Approved' " +
            "RETURNING id, partner_request_id, tran_id, partner_id) " +
            "INSERT INTO advices SELECT $4, p.id, $5, p.partner_request_id, p.tran_id, p.partner_id, 'Pending', $6, $6 FROM p " +
            "RETURNING partner_request_id, tran_id, partner_id",
            paymentId, clientId, state, adviceId, kind, now);
        await using var reader = await command.ExecuteReaderAsync();
        return await reader.ReadAsync() ? new AdvisedPayment(reader.GetString(0), reader.GetString(1), reader.GetString(2)) : null;
    }

    public Task MarkAdviceAsync(string adviceId, string state, DateTimeOffset now) =>
        RunAsync("UPDATE advices SET state = $2, updated_at = $3 WHERE id = $1", adviceId, state, now);

    public ValueTask DisposeAsync() => dataSource.DisposeAsync();

    private async Task<int> RunAsync(string sql, params object?[] values)
    {
        await using var command = Command(sql, values);
        return await command.ExecuteNonQueryAsync();
    }

    private NpgsqlCommand Command(string sql, params object?[] values)
    {
        var command = dataSource.CreateCommand(sql);
        foreach (var value in values)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = value ?? DBNull.Value });
        }

        return command;
    }
}

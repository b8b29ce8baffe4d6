using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Electrum.QrPayments.Benchmarks.Compare;

/// <summary>
/// reconcile: the service on a fresh database holding a day of N payments (and as many on the day
/// before), written straight into its tables after it migrated them; then the daily reconciliation
/// is asked for, as JSON and as CSV, several times. Times are to the last byte of the answer.
/// </summary>
internal static class ReconcileRunner
{
    private static readonly DateTime Day = new(2026, 12, 1, 0, 0, 0, DateTimeKind.Utc);

    public static async Task<int> RunAsync(Args args, CancellationToken ct)
    {
        var repository = Machine.RepositoryRoot();
        var settings = CompareSettings.Parse(args, repository);
        var payments = args.Int("--payments", 100_000);
        var directory = Directory.CreateTempSubdirectory("qr-reconcile-").FullName;
        await using var databases = new Databases(settings.Postgres, directory, settings.PostgresConnection, settings.PoolSize);
        var fresh = await databases.CreateAsync("reconcile");
        var port = Machine.FreePort();
        using var child = CompareRunner.StartService(settings, fresh, port, Path.Combine(directory, "service.log"));
        try
        {
            var url = new Uri($"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}");
            await CompareRunner.WaitReadyAsync(child, url, ct);
            var seeding = Stopwatch.StartNew();
            await SeedAsync(fresh.ServiceConnection, settings.Postgres, payments, ct);
            await Console.Error.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"seeded {2 * payments} payments in {seeding.Elapsed.TotalSeconds:0.0} s"));

            using var http = new HttpClient { BaseAddress = url, Timeout = TimeSpan.FromMinutes(5) };
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.ASCII.GetBytes("ops:ops-secret")));
            var date = Day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
            var cases = new (string Name, string Query, string Accept)[]
            {
                ("JSON, all partners", $"/ops/reconciliation?date={date}", "application/json"),
                ("JSON, one partner", $"/ops/reconciliation?date={date}&partnerId=partner-1", "application/json"),
                ("CSV, all partners", $"/ops/reconciliation?date={date}", "text/csv"),
                ("JSON, all partners, tz=Africa/Johannesburg", $"/ops/reconciliation?date={date}&tz=Africa/Johannesburg", "application/json"),
            };
            Console.WriteLine($"## Reconciliation of one day: {payments.ToString("N0", CultureInfo.InvariantCulture)} payments (and as many the day before), {(settings.Postgres ? "PostgreSQL" : "SQLite")}");
            Console.WriteLine();
            Console.WriteLine($"Machine: {Machine.Describe()}. Date: {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC. Service: {(repository is null ? "?" : Machine.Commit(repository))}.");
            Console.WriteLine($"Command: `dotnet tests/Electrum.QrPayments.Benchmarks/bin/Release/net10.0/Electrum.QrPayments.Benchmarks.dll {string.Join(' ', args.All)}`");
            Console.WriteLine();
            Console.WriteLine("| answer | first (s) | median of the next 3 (s) | size |");
            Console.WriteLine("|---|---:|---:|---|");
            foreach (var (name, query, accept) in cases)
            {
                var times = new List<double>();
                var size = "";
                for (var i = 0; i < 4; i++)
                {
                    using var request = new HttpRequestMessage(HttpMethod.Get, query);
                    request.Headers.Accept.ParseAdd(accept);
                    var clock = Stopwatch.StartNew();
                    using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct);
                    var body = await response.Content.ReadAsByteArrayAsync(ct);
                    times.Add(clock.Elapsed.TotalSeconds);
                    response.EnsureSuccessStatusCode();
                    size = accept == "text/csv"
                        ? $"{body.Count(b => b == '\n') - 1:N0} rows, {body.Length / 1024.0 / 1024.0:0.0} MiB"
                        : $"{body.Length / 1024.0:0.0} KiB";
                }

                var rest = times.Skip(1).Order().ToList();
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {name} | {times[0]:0.00} | {rest[1]:0.00} | {size} |"));
            }

            return 0;
        }
        finally
        {
            child.Dispose();
            await databases.DropAsync(fresh);
            Directory.Delete(directory, recursive: true);
        }
    }

    // Three partners, two currencies; per ten payments six confirmed, one each reversed, timed out,
    // declined and approved; a confirmation or reversal advice for each settled one, 1% of them failed.
    private static async Task SeedAsync(string connection, bool postgres, int n, CancellationToken ct)
    {
        const string EmptyJson = "'{}'";
        const string States = "CASE g % 10 WHEN 6 THEN 'Reversed' WHEN 7 THEN 'TimedOut' WHEN 8 THEN 'Declined' WHEN 9 THEN 'Approved' ELSE 'Confirmed' END";
        const string Columns = "id, request_id, client_id, tran_id, active_tran_id, state, amount, currency, upstream_request_id, request_json, partner_id, partner_name, partner_payment_token, response_json, reversal_requested, requested_reversal_reason, created_at, updated_at, hold_until, version";
        const string OutboxColumns = "payment_id, kind, partner_id, message_id, body, state, attempts, created_at, next_attempt_at, last_status, last_error, completed_at, lease_owner, lease_until";
        if (postgres)
        {
            await using var db = new NpgsqlConnection(connection);
            await db.OpenAsync(ct);
            var sql = $"""
                INSERT INTO payments ({Columns})
                SELECT gen_random_uuid(), 'req-' || d || '-' || g, 'pos-1', 'tran' || d || g, NULL, {States},
                       100 + g % 5000, CASE WHEN g % 7 = 0 THEN '840' ELSE '710' END, 'up-' || d || '-' || g, {EmptyJson},
                       'partner-' || (g % 3), 'Partner', 'token', NULL, false, NULL, t, t, t, 1
                FROM generate_series(0, @n - 1) g, generate_series(0, 1) d,
                     LATERAL (SELECT @day::timestamptz - d * interval '1 day' + g * (interval '86399 seconds' / @n)) AS x(t);
                INSERT INTO outbox ({OutboxColumns})
                SELECT id, CASE state WHEN 'Confirmed' THEN 'Confirmation' ELSE 'Reversal' END, partner_id, 'msg-' || request_id, {EmptyJson},
                       CASE WHEN amount % 100 = 0 THEN 'Failed' ELSE 'Delivered' END, 1, created_at, created_at, 202, NULL, created_at, NULL, NULL
                FROM payments WHERE state IN ('Confirmed', 'Reversed', 'TimedOut');
                ANALYZE payments; ANALYZE outbox;
                """;
            await using var command = new NpgsqlCommand(sql, db) { CommandTimeout = 600 };
            command.Parameters.AddWithValue("n", n);
            command.Parameters.AddWithValue("day", Day);
            await command.ExecuteNonQueryAsync(ct);
        }
        else
        {
            await using var db = new SqliteConnection(connection);
            await db.OpenAsync(ct);
            var sql = $"""
                WITH RECURSIVE g(g) AS (SELECT 0 UNION ALL SELECT g + 1 FROM g WHERE g < @n - 1), d(d) AS (VALUES (0), (1))
                INSERT INTO payments ({Columns})
                SELECT printf('%08X-0000-4000-8000-%012X', d, g), 'req-' || d || '-' || g, 'pos-1', 'tran' || d || g, NULL, {States},
                       100 + g % 5000, CASE WHEN g % 7 = 0 THEN '840' ELSE '710' END, 'up-' || d || '-' || g, {EmptyJson},
                       'partner-' || (g % 3), 'Partner', 'token', NULL, 0, NULL, t, t, t, 1
                FROM (SELECT g, d, strftime('%Y-%m-%d %H:%M:%f', @day, '-' || d || ' days', '+' || (g * 86399.0 / @n) || ' seconds') AS t FROM g, d);
                INSERT INTO outbox ({OutboxColumns})
                SELECT id, CASE state WHEN 'Confirmed' THEN 'Confirmation' ELSE 'Reversal' END, partner_id, 'msg-' || request_id, {EmptyJson},
                       CASE WHEN amount % 100 = 0 THEN 'Failed' ELSE 'Delivered' END, 1, created_at, created_at, 202, NULL, created_at, NULL, NULL
                FROM payments WHERE state IN ('Confirmed', 'Reversed', 'TimedOut');
                ANALYZE;
                """;
            await using var command = new SqliteCommand(sql, db) { CommandTimeout = 600 };
            command.Parameters.AddWithValue("@n", n);
            command.Parameters.AddWithValue("@day", Day.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture));
            await command.ExecuteNonQueryAsync(ct);
        }
    }
}

using System.Collections.Concurrent;
using Electrum.QrPayments.Api.Advices;
using Electrum.QrPayments.Api.Payments;
using Electrum.QrPayments.Api.Persistence;
using Electrum.QrPayments.Contracts.Client;
using Electrum.QrPayments.PartnerSimulator;
using Microsoft.EntityFrameworkCore;
using Xunit.Abstractions;

namespace Electrum.QrPayments.Tests.Resilience;

/// <summary>
/// The service as a child process, killed with SIGKILL at random moments while POS lifecycles run
/// against it, and restarted each time. Afterwards nothing the POS was told is lost.
/// </summary>
[Collection(AloneCollection.Name)]
public class CrashTests(ITestOutputHelper output)
{
    private const int Kills = 10;
    private const int Workers = 4;

    private readonly ConcurrentBag<string> payments = [];
    private readonly ConcurrentBag<(string RequestId, AdviceKind Kind)> accepted = [];
    private int lifecycles;

    public static TheoryData<Db, bool> Cases()
    {
        var cases = new TheoryData<Db, bool>();
        foreach (var db in new DatabasesAttribute().GetData(typeof(CrashTests).GetMethod(nameof(Cases))!).Select(d => (Db)d[0]))
        {
            cases.Add(db, false);
            cases.Add(db, true);
        }

        return cases;
    }

    /// <param name="flakyAdvices">The partner also fails half the advices it is sent, half of those with 503, half with 500.</param>
    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Service_KilledTenTimesUnderLoad_EveryAcceptedAdviceReachesPartnerAndNothingIsLeftOpen(Db db, bool flakyAdvices)
    {
        await using var partner = await Partner.StartAsync();
        await partner.Control.SetAsync(new Behaviour { DelayMs = 150 });
        if (flakyAdvices)
        {
            var flaky = new Behaviour { Action = SimAction.Error, Statuses = [503, 500], Rate = 0.5 };
            await partner.Control.SetAsync(flaky, SimulatorState.Confirm);
            await partner.Control.SetAsync(flaky, SimulatorState.Reverse);
        }

        await using var database = TestDatabase.Create(db);
        await using var service = new ServiceProcess(database, partner, Loopback.FreePort(), new Dictionary<string, string>
        {
            ["QrPayments__ScanWait"] = "00:00:03",
            ["QrPayments__PartnerTimeout"] = "00:00:02",
            ["QrPayments__EarlyScanGrace"] = "00:00:00.500",
            ["QrPayments__SweepInterval"] = "00:00:01",
            ["QrPayments__Outbox__PollInterval"] = "00:00:00.100",
            ["QrPayments__Outbox__RetryBaseDelay"] = "00:00:00.200",
            ["QrPayments__Outbox__RetryMaxDelay"] = "00:00:01",
        });
        await service.StartAsync();
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        var pos = new QrPaymentsClient(http, service.BaseUrl, new NetworkCredential(QrService.Client, QrService.ClientPassword));
        var scanner = new QrPaymentsClient(http, service.BaseUrl, new NetworkCredential(QrService.Partner, QrService.PartnerPassword));

        using var stop = new CancellationTokenSource();
        var load = Enumerable.Range(0, Workers).Select(_ => Task.Run(() => WorkAsync(pos, scanner, partner, stop.Token))).ToList();
        for (var kill = 0; kill < Kills; kill++)
        {
            // Each instance is killed only once the load has moved on it (a payment sent to the
            // partner, an advice accepted), however busy the machine: every kill interrupts work.
            var (paysBefore, advicesBefore) = (PaysAtPartner(partner), accepted.Count);
            await Task.Delay(Random.Shared.Next(300, 1500));
            await Flow.UntilAsync(() => Task.FromResult(PaysAtPartner(partner) > paysBefore && accepted.Count > advicesBefore),
                "the load to move on this instance", seconds: 60);
            await service.KillAsync();
            await service.StartAsync();
        }

        await stop.CancelAsync();
        await Task.WhenAll(load).WaitAsync(TimeSpan.FromSeconds(60));

        // Let timeouts pass and the outbox drain on the last instance.
        var options = new DbContextOptionsBuilder<QrDbContext>();
        _ = db == Db.Postgres ? options.UseNpgsql(database.ConnectionString) : options.UseSqlite(database.ConnectionString);
        var open = new[] { PaymentState.AwaitingScan, PaymentState.Forwarded, PaymentState.Approved };
        await Flow.UntilAsync(async () =>
        {
            await using var check = new QrDbContext(options.Options);
            return !await check.Payments.AnyAsync(p => open.Contains(p.State)) && !await check.Outbox.AnyAsync(o => o.State == OutboxState.Pending);
        }, "payments to settle and the outbox to drain", seconds: 90);

        await using var context = new QrDbContext(options.Options);
        var stored = await context.Payments.AsNoTracking().ToListAsync();
        var log = partner.State.ReceivedMessages.ToList();
        string? RequestIdOf(Received r) => r.Body.TryGetProperty("requestId", out var id) ? id.GetString() : null;
        var paysAtPartner = log.Where(r => r.Operation == SimulatorState.Pay).Select(r => r.Body.GetProperty("id").GetString()!).ToHashSet();
        // An advice has arrived when the partner took it, not when it answered 503 or 500.
        var advicesAtPartner = log.Where(r => r.Operation != SimulatorState.Pay && r.Accepted).ToList();
        bool Received(string operation, string upstreamId) => advicesAtPartner.Any(r => r.Operation == operation && RequestIdOf(r) == upstreamId);

        var problems = new List<string>();
        foreach (var (requestId, kind) in accepted.Distinct())
        {
            var payment = stored.SingleOrDefault(p => p.RequestId == requestId);
            if (payment is null || !paysAtPartner.Contains(payment.UpstreamRequestId))
            {
                continue; // the partner was never asked: nothing to tell it
            }

            var operation = kind == AdviceKind.Confirmation ? SimulatorState.Confirm : SimulatorState.Reverse;
            if (!Received(operation, payment.UpstreamRequestId) && !(kind == AdviceKind.Reversal && payment.State == PaymentState.Declined))
            {
                problems.Add($"{kind} of {requestId} answered 202 but never reached the partner (payment {payment.State})");
            }
        }

        foreach (var upstreamId in paysAtPartner)
        {
            if (!Received(SimulatorState.Confirm, upstreamId) && !Received(SimulatorState.Reverse, upstreamId))
            {
                problems.Add($"payment {upstreamId} was approved by the partner but never confirmed or reversed there");
            }
        }

        foreach (var group in log.Where(r => r.Operation != SimulatorState.Pay).GroupBy(r => (r.Operation, RequestIdOf(r))))
        {
            if (group.Select(r => r.Body.GetProperty("id").GetString()).Distinct().Count() > 1)
            {
                problems.Add($"{group.Key.Operation} for {group.Key.Item2} arrived under several message ids");
            }
        }

        var refused = log.Count(r => r.Operation != SimulatorState.Pay && !r.Accepted);
        output.WriteLine($"{db}{(flakyAdvices ? " (flaky advices)" : "")}: {service.Starts - 1} kills, {lifecycles} lifecycles, {payments.Count} payments, {accepted.Count} advices accepted; " +
                         $"partner got {paysAtPartner.Count} payments, {advicesAtPartner.Count} advice deliveries (and {refused} refused with 503/500); final states: " +
                         string.Join(", ", stored.GroupBy(p => p.State).Select(g => $"{g.Key} {g.Count()}")));
        Assert.True(service.Starts - 1 >= Kills);
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    // One POS doing whole lifecycles as the interface tells it to: reverse when the outcome is
    // unknown, and repeat an advice until it gets an answer.
    private static int PaysAtPartner(Partner partner) => partner.State.ReceivedMessages.Count(r => r.Operation == SimulatorState.Pay);

    private async Task WorkAsync(QrPaymentsClient pos, QrPaymentsClient scanner, Partner partner, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            var code = await TryAsync(() => pos.CreateQrCodeAsync(Messages.CreateQrCode()));
            if (code?.Body is not { } created)
            {
                await Task.Delay(100, CancellationToken.None);
                continue;
            }

            Interlocked.Increment(ref lifecycles);
            var request = Flow.PaymentFor(created.TranId!);
            payments.Add(request.Id!);
            var paying = TryAsync(() => pos.PayAsync(request));
            while (!paying.IsCompleted)
            {
                var scanned = await TryAsync(() => scanner.NotifyScanAsync(SimulatorApp.Scan(partner.Options, created.TranId!, "tok")));
                if (scanned?.Status == HttpStatusCode.Accepted)
                {
                    break;
                }

                await Task.WhenAny(paying, Task.Delay(100, CancellationToken.None));
            }

            var paid = await paying;
            // Each advice is built once and resent as it is (same id, same body).
            var confirmation = Flow.ConfirmationOf(request.Id!);
            var cancel = Flow.ReversalOf(request.Id!, ReversalReason.Cancelled);
            var timeout = Flow.ReversalOf(request.Id!);
            if (paid?.Status == HttpStatusCode.Created && Random.Shared.Next(10) < 7)
            {
                await AdviseAsync(AdviceKind.Confirmation, request.Id!, () => pos.ConfirmPaymentAsync(confirmation));
            }
            else if (paid?.Status == HttpStatusCode.Created)
            {
                await AdviseAsync(AdviceKind.Reversal, request.Id!, () => pos.ReversePaymentAsync(cancel));
            }
            else if (paid is null || Outcomes.Classify((int)paid.Status, isAdvice: false) == OutcomeClass.Unknown)
            {
                await AdviseAsync(AdviceKind.Reversal, request.Id!, () => pos.ReversePaymentAsync(timeout));
            }
        }
    }

    private async Task AdviseAsync(AdviceKind kind, string requestId, Func<Task<QrResponse<PaymentConfirmation>>> send) =>
        await AdviseAsync(kind, requestId, async () => (QrResponse)await send());

    private async Task AdviseAsync(AdviceKind kind, string requestId, Func<Task<QrResponse<PaymentReversal>>> send) =>
        await AdviseAsync(kind, requestId, async () => (QrResponse)await send());

    // The same advice (same id and body) again and again until a definite answer, as a POS's store-and-forward does.
    private async Task AdviseAsync(AdviceKind kind, string requestId, Func<Task<QrResponse>> send)
    {
        for (var attempt = 0; attempt < 300; attempt++)
        {
            var answer = await TryAsync(send);
            if (answer is not null && Outcomes.Classify((int)answer.Status, isAdvice: true) != OutcomeClass.Unknown)
            {
                if (answer.Status == HttpStatusCode.Accepted)
                {
                    accepted.Add((requestId, kind));
                }

                return;
            }

            await Task.Delay(200, CancellationToken.None);
        }

        throw new TimeoutException($"{kind} for {requestId} never got an answer");
    }

    private static async Task<T?> TryAsync<T>(Func<Task<T>> call) where T : class
    {
        try
        {
            return await call();
        }
        // A killed service fails a call in any of these ways; HttpClient lets a SocketException out
        // unwrapped when the peer is gone between its connect and reading the peer's address.
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or IOException or System.Net.Sockets.SocketException)
        {
            return null;
        }
    }
}

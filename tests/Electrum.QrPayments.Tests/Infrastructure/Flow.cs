using Electrum.QrPayments.Api.Advices;
using Electrum.QrPayments.Api.Payments;
using Electrum.QrPayments.Contracts.Client;
using Electrum.QrPayments.PartnerSimulator;
using Microsoft.EntityFrameworkCore;

namespace Electrum.QrPayments.Tests.Infrastructure;

/// <summary>
/// One lifecycle test's world: the partner simulator on loopback, the service (own database,
/// manual clock) configured with it as partner, and clients for the POS and the partner.
/// </summary>
public sealed class Flow : IAsyncDisposable
{
    public static readonly TimeSpan ScanWait = TimeSpan.FromSeconds(30);
    public static readonly TimeSpan PartnerTimeout = TimeSpan.FromSeconds(25);
    public static readonly TimeSpan EarlyScanGrace = TimeSpan.FromSeconds(2);

    private Flow(Partner partner, QrService service, ManualTimeProvider clock)
    {
        Partner = partner;
        Service = service;
        Clock = clock;
        Pos = service.Api();
        PartnerApi = service.Api(QrService.Partner, QrService.PartnerPassword);
    }

    public Partner Partner { get; }
    public QrService Service { get; }
    public ManualTimeProvider Clock { get; }
    public QrPaymentsClient Pos { get; }
    public QrPaymentsClient PartnerApi { get; }

    /// <summary>The settings every lifecycle test runs with, plus the test's own.</summary>
    public static Dictionary<string, string?> Settings(IDictionary<string, string?>? extra = null)
    {
        var settings = new Dictionary<string, string?>
        {
            ["QrPayments:ScanWait"] = ScanWait.ToString(),
            ["QrPayments:PartnerTimeout"] = PartnerTimeout.ToString(),
            ["QrPayments:EarlyScanGrace"] = EarlyScanGrace.ToString(),
        };
        foreach (var (key, value) in extra ?? new Dictionary<string, string?>())
        {
            settings[key] = value;
        }

        return settings;
    }

    public static async Task<Flow> StartAsync(Db db, IDictionary<string, string?>? extra = null,
        Microsoft.EntityFrameworkCore.Diagnostics.IInterceptor? interceptor = null)
    {
        var partner = await Partner.StartAsync();
        var clock = new ManualTimeProvider();
        var service = new QrService(TestDatabase.Create(db), Settings(extra), partner, clock) { Interceptor = interceptor };
        _ = service.Server; // start now, so the dispatcher runs from the beginning
        return new Flow(partner, service, clock);
    }

    public async Task<CreateQrCodeResponse> CodeAsync(QrProperties? properties = null, string client = QrService.Client)
    {
        var api = client == QrService.Client ? Pos : Service.Api(client, QrService.OtherClientPassword);
        var response = await api.CreateQrCodeAsync(Messages.CreateQrCode(client, properties));
        Assert.Equal(HttpStatusCode.Created, response.Status);
        return response.Body!;
    }

    public static PaymentRequest PaymentFor(string tranId, long amount = 10000, string currency = "710") => new()
    {
        Id = Guid.NewGuid().ToString(),
        Time = DateTimeOffset.UtcNow,
        Originator = Messages.Originator(),
        Client = new Institution { Id = QrService.Client, Name = "Test Retailer" },
        ThirdPartyIdentifiers = [new ThirdPartyIdentifier { InstitutionId = QrService.Client, TransactionIdentifier = "POS-" + tranId[..8] }],
        Amounts = new Amounts { RequestAmount = new LedgerAmount { Amount = amount, Currency = currency } },
        TranId = tranId,
    };

    public Task<QrResponse> ScanAsync(string tranId, string? token = "tok-secret-123") =>
        PartnerApi.NotifyScanAsync(SimulatorApp.Scan(Partner.Options, tranId, token));

    public static PaymentConfirmation ConfirmationOf(string requestId) => new()
    {
        Id = Guid.NewGuid().ToString(),
        RequestId = requestId,
        Time = DateTimeOffset.UtcNow,
        ThirdPartyIdentifiers = [],
    };

    public static PaymentReversal ReversalOf(string requestId, ReversalReason reason = ReversalReason.Timeout) => new()
    {
        Id = Guid.NewGuid().ToString(),
        RequestId = requestId,
        Time = DateTimeOffset.UtcNow,
        ThirdPartyIdentifiers = [],
        ReversalReason = reason,
    };

    /// <summary>Starts a pay and returns once the service holds it (so a scan can find it).</summary>
    public async Task<Task<QrResponse<PaymentResponse>>> StartPayAsync(PaymentRequest request)
    {
        var paying = Pos.PayAsync(request);
        await UntilAsync(async () => paying.IsCompleted || await StateAsync(request.Id!) == PaymentState.AwaitingScan, "the pay to be held");
        return paying;
    }

    /// <summary>Pays and scans; returns the POS's answer.</summary>
    public async Task<QrResponse<PaymentResponse>> PayAndScanAsync(PaymentRequest request)
    {
        var paying = await StartPayAsync(request);
        Assert.Equal(HttpStatusCode.Accepted, (await ScanAsync(request.TranId!)).Status);
        return await paying;
    }

    /// <summary>A payment the partner approved (asserted), on a fresh QR code.</summary>
    public async Task<PaymentRequest> ApprovedPaymentAsync(QrProperties? properties = null)
    {
        var request = PaymentFor((await CodeAsync(properties)).TranId!);
        Assert.Equal(HttpStatusCode.Created, (await PayAndScanAsync(request)).Status);
        return request;
    }

    public Task<PaymentState?> StateAsync(string requestId) =>
        Service.WithDbAsync(async db => (await db.Payments.AsNoTracking().SingleOrDefaultAsync(p => p.RequestId == requestId))?.State);

    public Task<Payment> PaymentAsync(string requestId) =>
        Service.WithDbAsync(db => db.Payments.AsNoTracking().SingleAsync(p => p.RequestId == requestId));

    public Task<List<OutboxMessage>> OutboxAsync() =>
        Service.WithDbAsync(db => db.Outbox.AsNoTracking().OrderBy(o => o.Id).ToListAsync());

    /// <summary>Waits (real time, bounded) until the partner has received this many messages of an operation.</summary>
    public Task UntilReceivedAsync(string operation, int count) =>
        UntilAsync(() => Task.FromResult(Partner.State.ReceivedMessages.Count(r => r.Operation == operation) >= count),
            $"the partner to receive {count} {operation}");

    /// <summary>Waits for the partner's reversal; asserts it is the only one and refers to the only payment sent.</summary>
    public async Task<(PaymentRequest Sent, PaymentReversal Reversal)> SingleReversalOfSinglePaymentAsync()
    {
        await UntilReceivedAsync(SimulatorState.Reverse, 1);
        var sent = Assert.Single(Partner.Received<PaymentRequest>(SimulatorState.Pay));
        var reversal = Assert.Single(Partner.Received<PaymentReversal>(SimulatorState.Reverse));
        Assert.Equal(sent.Id, reversal.RequestId);
        return (sent, reversal);
    }

    public static async Task UntilAsync(Func<Task<bool>> condition, string what, int seconds = 15)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"gave up waiting for {what}");
            }

            await Task.Delay(20);
        }
    }

    /// <summary>Moves the clock on in steps until the task completes (each step lets timers fire).</summary>
    public async Task<T> AdvanceUntilAsync<T>(Task<T> task, TimeSpan step)
    {
        for (var i = 0; i < 500 && !task.IsCompleted; i++)
        {
            Clock.Advance(step);
            await Task.WhenAny(task, Task.Delay(20));
        }

        return await task;
    }

    public async ValueTask DisposeAsync()
    {
        // A failed test may leave a pay held on the manual clock: let every hold run out first.
        for (var i = 0; i < 10; i++)
        {
            Clock.Advance(TimeSpan.FromMinutes(10));
        }

        await Service.DisposeAsync();
        await Partner.DisposeAsync();
    }
}

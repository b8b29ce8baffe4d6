using System.Diagnostics;
using System.Net;
using Electrum.QrPayments.Contracts.Client;
using Electrum.QrPayments.Contracts.Models;
using Electrum.QrPayments.PartnerSimulator;

// Load generator against a running service (by default the README's Development instance), with the
// demo partner hosted here on port 9001. Prints throughput and latency percentiles per scenario.
//   dotnet run -c Release --project tests/Electrum.QrPayments.Benchmarks -- [--service URL] [--seconds N] [--concurrency N] [--held N]
string Arg(string name, string fallback) => Array.IndexOf(args, name) is var i and >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
var serviceUrl = new Uri(Arg("--service", "http://localhost:5080/qr/v1"));
var seconds = int.Parse(Arg("--seconds", "15"), System.Globalization.CultureInfo.InvariantCulture);
var concurrency = int.Parse(Arg("--concurrency", "32"), System.Globalization.CultureInfo.InvariantCulture);
var held = int.Parse(Arg("--held", "1000"), System.Globalization.CultureInfo.InvariantCulture);

var options = new SimulatorOptions { ServiceBaseUrl = serviceUrl };
await using var partner = SimulatorApp.Build(options);
await partner.StartAsync();
using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 4096 }) { Timeout = TimeSpan.FromSeconds(120) };
var pos = new QrPaymentsClient(http, serviceUrl, new NetworkCredential("pos-1", "pos-1-secret"));
var scanner = SimulatorApp.Scanner(http, options);

Console.WriteLine($"service {serviceUrl}, {concurrency} concurrent clients, {seconds} s per scenario, {Environment.ProcessorCount} cores");
await Run("createQrCode", async () => Check(await pos.CreateQrCodeAsync(CreateCode()), HttpStatusCode.Created));
await Run("lifecycle (createQrCode, pay, notifyScan, confirmPayment)", async () =>
{
    var code = Check(await pos.CreateQrCodeAsync(CreateCode()), HttpStatusCode.Created).Body!;
    var payment = Payment(code.TranId!);
    var paying = pos.PayAsync(payment);
    while (!paying.IsCompleted && (await scanner.NotifyScanAsync(SimulatorApp.Scan(options, code.TranId!, "tok"))).Status != HttpStatusCode.Accepted)
    {
        await Task.Delay(5);
    }

    Check(await paying, HttpStatusCode.Created);
    Check(await pos.ConfirmPaymentAsync(new PaymentConfirmation
    {
        Id = Guid.NewGuid().ToString(), RequestId = payment.Id, Time = DateTimeOffset.UtcNow, ThirdPartyIdentifiers = [],
    }), HttpStatusCode.Accepted);
});
await HeldPays();
return 0;

// Many pays held at once (each waiting for its scan), then all scanned: every one must complete.
async Task HeldPays()
{
    var codes = new List<string>();
    for (var i = 0; i < held; i += 64)
    {
        var batch = await Task.WhenAll(Enumerable.Range(0, Math.Min(64, held - i)).Select(_ => pos.CreateQrCodeAsync(CreateCode())));
        codes.AddRange(batch.Select(b => b.Body!.TranId!));
    }

    var clock = Stopwatch.StartNew();
    var pays = codes.Select(c => pos.PayAsync(Payment(c))).ToList();
    await Task.Delay(2000);
    var scanned = await Task.WhenAll(codes.Select(c => scanner.NotifyScanAsync(SimulatorApp.Scan(options, c, "tok"))));
    var answers = await Task.WhenAll(pays);
    Console.WriteLine($"{held} pays held at once, then scanned: {answers.Count(a => a.Status == HttpStatusCode.Created)} approved, " +
                      $"{scanned.Count(s => s.Status == HttpStatusCode.Accepted)} scans accepted, all done in {clock.Elapsed.TotalSeconds:0.0} s (2 s of it waiting before the scans)");
}

async Task Run(string name, Func<Task> operation)
{
    var latencies = new List<double>();
    var errors = 0;
    var deadline = Stopwatch.StartNew();
    await Task.WhenAll(Enumerable.Range(0, concurrency).Select(async _ =>
    {
        while (deadline.Elapsed.TotalSeconds < seconds)
        {
            var started = Stopwatch.GetTimestamp();
            try
            {
                await operation();
                lock (latencies)
                {
                    latencies.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                }
            }
            catch (Exception e) when (e is InvalidOperationException or HttpRequestException or TaskCanceledException)
            {
                Interlocked.Increment(ref errors);
            }
        }
    }));
    latencies.Sort();
    double P(double q) => latencies.Count == 0 ? double.NaN : latencies[(int)Math.Min(latencies.Count - 1, q * latencies.Count)];
    Console.WriteLine($"{name}: {latencies.Count / deadline.Elapsed.TotalSeconds:0} per s, p50 {P(0.5):0.0} ms, p95 {P(0.95):0.0} ms, p99 {P(0.99):0.0} ms, {errors} errors");
}

static T Check<T>(T response, HttpStatusCode expected) where T : QrResponse =>
    response.Status == expected ? response : throw new InvalidOperationException($"expected {expected}, got {response.Status} {response.Error?.ErrorType}");

static Originator Originator() => new()
{
    Institution = new Institution { Id = "pos-1", Name = "Bench Retailer" },
    TerminalId = "BENCH001",
    Merchant = new Merchant
    {
        MerchantType = "5411", MerchantId = "000000000000001",
        MerchantName = new MerchantName { Name = "Bench Store", City = "Cape Town", Region = "WC", Country = "ZA" },
    },
};

static CreateQrCodeRequest CreateCode() => new()
{
    Id = Guid.NewGuid().ToString(), Time = DateTimeOffset.UtcNow, Originator = Originator(),
    Client = new Institution { Id = "pos-1", Name = "Bench Retailer" },
    QrProperties = new QrProperties { Value = new LedgerAmount { Amount = 1000, Currency = "710" } },
};

static PaymentRequest Payment(string tranId) => new()
{
    Id = Guid.NewGuid().ToString(), Time = DateTimeOffset.UtcNow, Originator = Originator(),
    Client = new Institution { Id = "pos-1", Name = "Bench Retailer" }, ThirdPartyIdentifiers = [],
    Amounts = new Amounts { RequestAmount = new LedgerAmount { Amount = 1000, Currency = "710" } }, TranId = tranId,
};

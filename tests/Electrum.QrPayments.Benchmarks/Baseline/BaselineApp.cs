using System.Collections.Concurrent;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using Electrum.QrPayments.Contracts.Client;
using Electrum.QrPayments.Contracts.Json;
using Electrum.QrPayments.Contracts.Models;

namespace Electrum.QrPayments.Benchmarks.Baseline;

/// <summary>
/// The floor the service is measured against: the same five calls on the same wire (base path
/// /qr/v1, HTTP Basic, the Contracts' JSON), raw ADO.NET with one transaction per step, and nothing
/// else: no validation, no audit rows, no retries, no ops endpoints. A held pay waits on a
/// TaskCompletionSource keyed by tranId (no thread per hold); a scan wakes it.
/// </summary>
internal static class BaselineApp
{
    public static async Task<int> RunAsync(BaselineOptions options)
    {
        await using var store = await OpenStoreAsync(options);
        await using var app = Build(options, store);
        await app.RunAsync();
        return 0;
    }

    public static async Task<IBaselineStore> OpenStoreAsync(BaselineOptions options) => options.Database switch
    {
        "sqlite" => new SqliteStore(options.Connection),
        "postgres" => await PostgresStore.OpenAsync(options.Connection),
        _ => throw new ArgumentException($"--db must be sqlite or postgres, not {options.Database}"),
    };

    public static WebApplication Build(BaselineOptions options, IBaselineStore store)
    {
        var builder = WebApplication.CreateSlimBuilder([]);
        builder.WebHost.UseUrls($"http://127.0.0.1:{options.Port.ToString(System.Globalization.CultureInfo.InvariantCulture)}");
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        var handlers = new BaselineHandlers(options, store);
        builder.Services.AddSingleton(handlers);
        builder.Services.AddHostedService(_ => handlers.Deliverer);

        var app = builder.Build();
        app.MapGet("/health/live", () => Results.Ok());
        var qr = app.MapGroup("/qr/v1");
        qr.MapPost("/qrCodes", handlers.CreateQrCodeAsync);
        qr.MapPost("/payments", handlers.PayAsync);
        qr.MapPost("/scans", handlers.ScanAsync);
        qr.MapPost("/payments/confirmations", (HttpContext c) => handlers.AdviseAsync(c, States.Confirmed));
        qr.MapPost("/payments/reversals", (HttpContext c) => handlers.AdviseAsync(c, States.Reversed));
        return app;
    }
}

/// <summary>The five calls. Each durable step is one store call, so one commit.</summary>
internal sealed class BaselineHandlers : IDisposable
{
    private readonly BaselineOptions options;
    private readonly IBaselineStore store;
    private readonly HttpClient partner;
    private readonly string clientAuthorization;
    private readonly string partnerAuthorization;
    private readonly System.Net.Http.Headers.AuthenticationHeaderValue upstreamAuthorization;
    private readonly ConcurrentDictionary<string, Hold> holds = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Hold> holdsByPayment = new(StringComparer.Ordinal);

    public BaselineHandlers(BaselineOptions options, IBaselineStore store)
    {
        this.options = options;
        this.store = store;
        partner = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = options.PartnerConnections }) { Timeout = options.PartnerTimeout };
        clientAuthorization = QrPaymentsClient.BasicAuthorization(options.ClientId, options.ClientSecret).ToString();
        partnerAuthorization = QrPaymentsClient.BasicAuthorization(options.PartnerId, options.PartnerSecret).ToString();
        upstreamAuthorization = QrPaymentsClient.BasicAuthorization(options.PartnerUsername, options.PartnerPassword);
        Deliverer = new AdviceDeliverer(this, options.Deliverers);
    }

    public AdviceDeliverer Deliverer { get; }

    // Step 1 of 6: the code.
    public async Task CreateQrCodeAsync(HttpContext context)
    {
        if (!Authorized(context, clientAuthorization) || await ReadAsync<CreateQrCodeRequest>(context) is not { } request)
        {
            return;
        }

        var tranId = Guid.NewGuid().ToString("N");
        var template = $"00{options.ProviderId.Length:00}{options.ProviderId}01{tranId.Length:00}{tranId}";
        var payload = $"00020126{template.Length:00}{template}";
        var value = request.QrProperties?.Value;
        await store.InsertQrCodeAsync(tranId, request.Id ?? "", options.ClientId, value?.Amount, value?.Currency, payload, DateTimeOffset.UtcNow);
        await WriteAsync(context, StatusCodes.Status201Created, new CreateQrCodeResponse
        {
            Id = request.Id, Time = request.Time, Originator = request.Originator, Client = request.Client,
            ThirdPartyIdentifiers = request.ThirdPartyIdentifiers, Rrn = request.Rrn, Stan = request.Stan, Amounts = request.Amounts,
            Customer = request.Customer, QrProperties = request.QrProperties, TranId = tranId, QrCode = payload,
        });
    }

    // Step 2: the payment, held until its scan; step 4: the partner's answer.
    public async Task PayAsync(HttpContext context)
    {
        if (!Authorized(context, clientAuthorization) || await ReadAsync<PaymentRequest>(context) is not { } request)
        {
            return;
        }

        var id = request.Id ?? Guid.NewGuid().ToString();
        var tranId = request.TranId ?? "";
        var amount = request.Amounts?.RequestAmount;
        await store.InsertPaymentAsync(id, tranId, options.ClientId, amount?.Amount, amount?.Currency, DateTimeOffset.UtcNow);

        var hold = holds.GetOrAdd(tranId, _ => new Hold());
        if (!hold.Paid.TrySetResult(id))
        {
            await ErrorAsync(context, 400, id, ErrorType.InvalidTranId, "A payment is pending on this code");
            return;
        }

        holdsByPayment[id] = hold;
        Scan scan;
        try
        {
            scan = await hold.Scanned.Task.WaitAsync(options.ScanWait, context.RequestAborted);
        }
        catch (Exception e) when (e is TimeoutException or OperationCanceledException)
        {
            holds.TryRemove(new KeyValuePair<string, Hold>(tranId, hold));
            holdsByPayment.TryRemove(id, out _);
            // Whichever of the give-up and the scan settles the hold first wins; a scan that won goes on.
            if (hold.Scanned.TrySetCanceled())
            {
                await store.RecordOutcomeAsync(id, States.NoScan, 0, null, DateTimeOffset.UtcNow);
                await ErrorAsync(context, 400, id, ErrorType.NoScanReceived, "No scan received");
                return;
            }

            scan = await hold.Scanned.Task;
        }
        finally
        {
            holdsByPayment.TryRemove(id, out _);
        }

        if (scan.Reversed)
        {
            await ErrorAsync(context, 400, id, ErrorType.GeneralError, "Reversed while held");
            return;
        }

        await ForwardAsync(context, request, id, scan);
    }

    // Step 3: the scan, which wakes the held pay.
    public async Task ScanAsync(HttpContext context)
    {
        if (!Authorized(context, partnerAuthorization) || await ReadAsync<ScanNotification>(context) is not { } scan)
        {
            return;
        }

        var tranId = scan.TranId ?? "";
        var hold = holds.GetOrAdd(tranId, _ => new Hold());
        string paymentId;
        try
        {
            paymentId = await hold.Paid.Task.WaitAsync(options.EarlyScanGrace, context.RequestAborted);
        }
        catch (Exception e) when (e is TimeoutException or OperationCanceledException)
        {
            holds.TryRemove(new KeyValuePair<string, Hold>(tranId, hold));
            await ErrorAsync(context, 400, scan.Id, ErrorType.UnableToLocateRecord, "No payment waiting for this code");
            return;
        }

        var partnerRequestId = Guid.NewGuid().ToString();
        var partnerId = scan.Partner?.Id ?? options.PartnerId;
        if (!await store.MarkScannedAsync(paymentId, partnerId, scan.PartnerPaymentToken, partnerRequestId, DateTimeOffset.UtcNow))
        {
            await ErrorAsync(context, 400, scan.Id, ErrorType.InvalidTranId, "Already scanned");
            return;
        }

        holds.TryRemove(new KeyValuePair<string, Hold>(tranId, hold));
        if (!hold.Scanned.TrySetResult(new Scan(scan.Partner ?? new Institution { Id = partnerId }, scan.PartnerPaymentToken, partnerRequestId, Reversed: false)))
        {
            // The pay gave up (or was reversed) just before.
            await ErrorAsync(context, 400, scan.Id, ErrorType.UnableToLocateRecord, "The payment is no longer waiting");
            return;
        }

        context.Response.StatusCode = StatusCodes.Status202Accepted;
    }

    // Step 5: the confirmation (or reversal) and its advice row; step 6 is the deliverer's.
    public async Task AdviseAsync(HttpContext context, string state)
    {
        if (!Authorized(context, clientAuthorization))
        {
            return;
        }

        // The answer echoes the advice as received.
        using var buffer = new MemoryStream();
        await context.Request.Body.CopyToAsync(buffer, context.RequestAborted);
        var raw = buffer.ToArray();
        if (TryRead<AdviceBody>(raw) is not { } advice)
        {
            await ErrorAsync(context, 400, null, ErrorType.FormatError, "Malformed JSON");
            return;
        }

        var requestId = advice.RequestId ?? "";
        if (state == States.Reversed && holdsByPayment.TryGetValue(requestId, out var held))
        {
            // A held pay ends at once; nothing was sent to the partner yet.
            held.Scanned.TrySetResult(new Scan(new Institution(), null, "", Reversed: true));
            await WriteRawAsync(context, StatusCodes.Status202Accepted, raw);
            return;
        }

        var adviceId = Guid.NewGuid().ToString();
        var found = await store.AdviseAsync(requestId, options.ClientId, state, adviceId, state, DateTimeOffset.UtcNow);
        if (found is null)
        {
            await ErrorAsync(context, 404, advice.Id, ErrorType.UnableToLocateRecord, "No approved payment");
            return;
        }

        Deliverer.Enqueue(new Delivery(adviceId, state, found));
        await WriteRawAsync(context, StatusCodes.Status202Accepted, raw);
    }

    public async Task DeliverAsync(Delivery delivery, CancellationToken ct)
    {
        var (path, body) = delivery.Kind == States.Confirmed
            ? ("payments/confirmations", JsonSerializer.SerializeToUtf8Bytes(new PaymentConfirmation
            {
                Id = delivery.AdviceId, RequestId = delivery.Payment.PartnerRequestId, Time = DateTimeOffset.UtcNow,
                TranId = delivery.Payment.TranId, Partner = new Institution { Id = delivery.Payment.PartnerId },
            }, QrJson.Options))
            : ("payments/reversals", JsonSerializer.SerializeToUtf8Bytes(new PaymentReversal
            {
                Id = delivery.AdviceId, RequestId = delivery.Payment.PartnerRequestId, Time = DateTimeOffset.UtcNow,
                TranId = delivery.Payment.TranId, Partner = new Institution { Id = delivery.Payment.PartnerId }, ReversalReason = ReversalReason.Cancelled,
            }, QrJson.Options));
        var status = await PostUpstreamAsync(path, body, ct);
        // No retries here: one attempt, and its outcome is the last commit of the lifecycle.
        var state = status.Status is >= 200 and < 300 or 404 ? States.Delivered : States.Failed;
        await store.MarkAdviceAsync(delivery.AdviceId, state, DateTimeOffset.UtcNow);
    }

    public void Dispose() => partner.Dispose();

    private async Task ForwardAsync(HttpContext context, PaymentRequest request, string id, Scan scan)
    {
        var upstream = request with
        {
            Id = scan.PartnerRequestId, Time = DateTimeOffset.UtcNow, Partner = scan.Partner, PartnerPaymentToken = scan.Token,
        };
        var (status, content) = await PostUpstreamAsync("payments", JsonSerializer.SerializeToUtf8Bytes(upstream, QrJson.Options), context.RequestAborted);
        var response = status == 201 ? TryRead<PaymentResponse>(content) : null;
        var state = response is not null ? States.Approved : status is >= 400 and < 500 and not 408 and not 429 or 501 or 503 ? States.Declined : States.Unknown;
        await store.RecordOutcomeAsync(id, state, status, content.Length == 0 ? null : Encoding.UTF8.GetString(content), DateTimeOffset.UtcNow);
        switch (state)
        {
            case States.Approved:
                await WriteAsync(context, StatusCodes.Status201Created, response! with { Id = id, Partner = scan.Partner });
                break;
            case States.Declined:
                await WriteRawAsync(context, status, content);
                break;
            default:
                await ErrorAsync(context, 504, id, ErrorType.UpstreamUnavailable, "Partner outcome unknown");
                break;
        }
    }

    private async Task<(int Status, byte[] Content)> PostUpstreamAsync(string path, byte[] body, CancellationToken ct)
    {
        try
        {
            using var message = new HttpRequestMessage(HttpMethod.Post, new Uri($"{options.PartnerBaseUrl.ToString().TrimEnd('/')}/{path}"));
            message.Content = new ByteArrayContent(body);
            message.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
            message.Headers.Authorization = upstreamAuthorization;
            using var response = await partner.SendAsync(message, ct);
            return ((int)response.StatusCode, await response.Content.ReadAsByteArrayAsync(ct));
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            return (0, []);
        }
    }

    private static bool Authorized(HttpContext context, string expected)
    {
        if (string.Equals(context.Request.Headers.Authorization.ToString(), expected, StringComparison.Ordinal))
        {
            return true;
        }

        context.Response.StatusCode = StatusCodes.Status401Unauthorized;
        context.Response.Headers.WWWAuthenticate = "Basic";
        return false;
    }

    private static async Task<T?> ReadAsync<T>(HttpContext context) where T : class
    {
        try
        {
            return await JsonSerializer.DeserializeAsync<T>(context.Request.Body, QrJson.Options, context.RequestAborted)
                   ?? throw new JsonException("empty body");
        }
        catch (JsonException)
        {
            await ErrorAsync(context, 400, null, ErrorType.FormatError, "Malformed JSON");
            return null;
        }
    }

    private static T? TryRead<T>(byte[] content) where T : class
    {
        try
        {
            return JsonSerializer.Deserialize<T>(content, QrJson.Options);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static Task ErrorAsync(HttpContext context, int status, string? id, ErrorType type, string message) =>
        WriteAsync(context, status, new ErrorDetail { Id = id ?? Guid.NewGuid().ToString(), ErrorType = type, ErrorMessage = message });

    private static Task WriteAsync<T>(HttpContext context, int status, T value) =>
        WriteRawAsync(context, status, JsonSerializer.SerializeToUtf8Bytes(value, QrJson.Options));

    private static async Task WriteRawAsync(HttpContext context, int status, byte[] body)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        context.Response.ContentLength = body.Length;
        await context.Response.Body.WriteAsync(body, context.RequestAborted);
    }

    /// <summary>A pay and its scan meet here, whichever arrives first.</summary>
    private sealed class Hold
    {
        public TaskCompletionSource<string> Paid { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public TaskCompletionSource<Scan> Scanned { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    private sealed record Scan(Institution Partner, string? Token, string PartnerRequestId, bool Reversed);

    /// <summary>What the baseline reads of a confirmation or reversal.</summary>
    private sealed record AdviceBody(string? Id, string? RequestId);
}

/// <summary>An advice row to deliver.</summary>
internal sealed record Delivery(string AdviceId, string Kind, AdvisedPayment Payment);

/// <summary>
/// Sends each advice to the partner once, a few at a time, and marks it delivered (the sixth
/// commit). Rows are queued in memory as they are written; the baseline does not recover a
/// queue left by a crash.
/// </summary>
internal sealed class AdviceDeliverer(BaselineHandlers handlers, int workers) : BackgroundService
{
    private readonly Channel<Delivery> queue = Channel.CreateUnbounded<Delivery>(new UnboundedChannelOptions { SingleWriter = false });

    public void Enqueue(Delivery delivery) => queue.Writer.TryWrite(delivery);

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(Enumerable.Range(0, workers).Select(async _ =>
        {
            // Ends when the host stops.
            await foreach (var delivery in queue.Reader.ReadAllAsync(stoppingToken))
            {
                await handlers.DeliverAsync(delivery, stoppingToken);
            }
        }));
}

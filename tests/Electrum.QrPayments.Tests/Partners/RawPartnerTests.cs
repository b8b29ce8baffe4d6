using System.Net.Sockets;
using System.Text;
using Electrum.QrPayments.Api.Payments;
using Electrum.QrPayments.Contracts.Client;
using Electrum.QrPayments.PartnerSimulator;
using Microsoft.EntityFrameworkCore;

namespace Electrum.QrPayments.Tests.Partners;

/// <summary>
/// Every request the service, the Contracts client and the simulator send carries Content-Length:
/// checked against <see cref="RawPartner"/>, which reads bodies by Content-Length only and refuses
/// chunked requests, as many partner gateways do.
/// </summary>
public class RawPartnerTests
{
    [Theory]
    [Databases]
    public async Task Lifecycle_PartnerReadsContentLengthOnly_PayApprovedAndConfirmationArrives(Db db)
    {
        await using var world = await RawWorld.StartAsync(db);
        var code = await world.CodeAsync();
        var payment = Flow.PaymentFor(code.TranId!);

        var paid = await world.PayAndScanAsync(payment);
        var confirmed = await world.Pos.ConfirmPaymentAsync(Flow.ConfirmationOf(payment.Id!));

        Assert.Equal(HttpStatusCode.Created, paid.Status);
        Assert.Equal(payment.Id, paid.Body!.Id);
        Assert.Equal(QrService.Partner, paid.Body.Partner!.Id);
        Assert.Equal(HttpStatusCode.Accepted, confirmed.Status);
        await world.Partner.UntilReceivedAsync("/payments/confirmations", 1);
        var sent = Assert.Single(world.Partner.ReceivedAt("/payments")).Read<PaymentRequest>();
        var confirmation = Assert.Single(world.Partner.ReceivedAt("/payments/confirmations")).Read<PaymentConfirmation>();
        Assert.Equal(sent.Id, confirmation.RequestId);
        Assert.Equal(2, world.Partner.Received.Count);
        world.Partner.AssertContentLengthOnly();
        Assert.Equal(PaymentState.Confirmed, await world.StateAsync(payment.Id!));
    }

    [Theory]
    [Databases]
    public async Task Lifecycle_ReversalAfterApproval_ReversalArrivesWithContentLength(Db db)
    {
        await using var world = await RawWorld.StartAsync(db);
        var code = await world.CodeAsync();
        var payment = Flow.PaymentFor(code.TranId!);

        var paid = await world.PayAndScanAsync(payment);
        var reversed = await world.Pos.ReversePaymentAsync(Flow.ReversalOf(payment.Id!, ReversalReason.Cancelled));

        Assert.Equal(HttpStatusCode.Created, paid.Status);
        Assert.Equal(HttpStatusCode.Accepted, reversed.Status);
        await world.Partner.UntilReceivedAsync("/payments/reversals", 1);
        var sent = Assert.Single(world.Partner.ReceivedAt("/payments")).Read<PaymentRequest>();
        var reversal = Assert.Single(world.Partner.ReceivedAt("/payments/reversals")).Read<PaymentReversal>();
        Assert.Equal(sent.Id, reversal.RequestId);
        Assert.Equal(ReversalReason.Cancelled, reversal.ReversalReason);
        Assert.Equal(2, world.Partner.Received.Count);
        world.Partner.AssertContentLengthOnly();
        Assert.Equal(PaymentState.Reversed, await world.StateAsync(payment.Id!));
    }

    [Fact]
    public async Task ContractsClient_AllFiveOperations_SendContentLengthNeverChunked()
    {
        await using var raw = new RawPartner();
        using var http = new HttpClient();
        var client = new QrPaymentsClient(http, raw.BaseUrl, new NetworkCredential(QrService.PartnerUpstreamUser, QrService.PartnerUpstreamPassword));
        var create = Messages.CreateQrCode();
        var payment = Flow.PaymentFor(Guid.NewGuid().ToString("N"));
        var scan = SimulatorApp.Scan(new SimulatorOptions { PartnerId = QrService.Partner }, payment.TranId!, "tok-raw");
        var confirmation = Flow.ConfirmationOf(payment.Id!);
        var reversal = Flow.ReversalOf(payment.Id!);

        var created = await client.CreateQrCodeAsync(create);
        var paid = await client.PayAsync(payment);
        var scanned = await client.NotifyScanAsync(scan);
        var confirmed = await client.ConfirmPaymentAsync(confirmation);
        var reversed = await client.ReversePaymentAsync(reversal);

        Assert.Equal(HttpStatusCode.Created, created.Status);
        Assert.Equal(create.Id, created.Body!.Id);
        Assert.Equal(HttpStatusCode.Created, paid.Status);
        Assert.Equal(payment.Id, paid.Body!.Id);
        Assert.Equal(HttpStatusCode.Accepted, scanned.Status);
        Assert.Equal(HttpStatusCode.Accepted, confirmed.Status);
        Assert.Equal(confirmation.Id, confirmed.Body!.Id);
        Assert.Equal(HttpStatusCode.Accepted, reversed.Status);
        Assert.Equal(reversal.Id, reversed.Body!.Id);
        raw.AssertContentLengthOnly();
        Assert.Equal(["/qrCodes", "/payments", "/scans", "/payments/confirmations", "/payments/reversals"],
            raw.Received.Select(r => r.Path[RawPartner.BasePath.Length..]));
        Assert.Equal([create.Id, payment.Id, scan.Id, confirmation.Id, reversal.Id],
            raw.Received.Select(r => r.Json().GetProperty("id").GetString()));
        Assert.All(raw.Received, r => Assert.Equal("application/json; charset=utf-8", Assert.Single(r.Values("Content-Type"))));
        // The raw partner's answers switch framing and close connections: the client took them all.
        Assert.Contains(raw.Received, r => r.OnConnection > 1);
        Assert.Contains(raw.Received, r => r.Connection > 1);
    }

    [Fact]
    public async Task SimulatorClient_BehaviourAndScanCommands_SendContentLength()
    {
        var options = new SimulatorOptions();
        await using var raw = new RawPartner(options.Username, options.Password, request => (request.Method, request.Path) switch
        {
            ("PUT", "/sim/behaviour") => new RawResponse(204),
            ("POST", "/sim/scans") => RawResponse.Json(200, new { status = 202 }),
            _ => null,
        });
        using var http = new HttpClient();
        var control = new SimulatorClient(http, raw.Root, options);

        await control.SetAsync(new Behaviour { Action = SimAction.Decline, DelayMs = 10 }, SimulatorState.Pay);
        var status = await control.ScanAsync("0123456789abcdef0123456789abcdef", "tok-raw");

        Assert.Equal(202, status);
        raw.AssertContentLengthOnly();
        var (behaviour, scan) = (raw.Received.First(), raw.Received.Last());
        Assert.Equal("/sim/behaviour?operation=pay", behaviour.Target);
        Assert.Equal(10, behaviour.Read<Behaviour>().DelayMs);
        Assert.Equal("/sim/scans", scan.Target);
        Assert.Equal("0123456789abcdef0123456789abcdef", scan.Read<ScanCommand>().TranId);
    }

    [Fact]
    public async Task SimScans_ServiceIsARawListener_SimulatorPostsTheScanWithContentLength()
    {
        await using var raw = new RawPartner(QrService.Partner, QrService.PartnerPassword);
        await using var partner = await Partner.StartAsync();
        partner.Options.ServiceBaseUrl = raw.BaseUrl;

        var status = await partner.Control.ScanAsync("0123456789abcdef0123456789abcdef", "tok-raw");

        Assert.Equal(202, status);
        raw.AssertContentLengthOnly();
        var scan = Assert.Single(raw.ReceivedAt("/scans")).Read<ScanNotification>();
        Assert.Equal("0123456789abcdef0123456789abcdef", scan.TranId);
        Assert.Equal(QrService.Partner, scan.Partner!.Id);
        Assert.Equal("tok-raw", scan.PartnerPaymentToken);
    }

    // The simulator is a partner for people to try the service against: what it cannot read gets the interface's 400.
    [Theory]
    [InlineData("payments", "null")]
    [InlineData("payments/confirmations", "[]")]
    [InlineData("payments/reversals", "not json")]
    [InlineData("payments", "{\"id\":1,\"amounts\":{\"requestAmount\":{\"amount\":\"ten\"}}}")]
    public async Task Simulator_BodyItCannotRead_Returns400FormatError(string path, string body)
    {
        await using var partner = await Partner.StartAsync();
        using var http = new HttpClient();
        http.DefaultRequestHeaders.Authorization = QrPaymentsClient.BasicAuthorization(QrService.PartnerUpstreamUser, QrService.PartnerUpstreamPassword);

        using var response = await http.PostAsync(new Uri(partner.Root, "qr/v1/" + path), new StringContent(body, Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = await response.Content.ReadFromJsonAsync<ErrorDetail>(QrJson.Options);
        Assert.Equal(ErrorType.FormatError, error!.ErrorType);
        Assert.Empty(partner.State.ReceivedMessages);
    }

    // The raw partner itself: what it must refuse, so that the tests above can pass only honestly.
    [Fact]
    public async Task RawPartner_ChunkedJsonContent_Refused411AndRecorded()
    {
        await using var raw = new RawPartner();
        using var http = new HttpClient();
        http.DefaultRequestHeaders.Authorization = QrPaymentsClient.BasicAuthorization(QrService.PartnerUpstreamUser, QrService.PartnerUpstreamPassword);

        using var response = await http.PostAsJsonAsync(new Uri(raw.BaseUrl + "/payments"), Flow.PaymentFor(Guid.NewGuid().ToString("N")), QrJson.Options);

        Assert.Equal(HttpStatusCode.LengthRequired, response.StatusCode);
        Assert.Contains("Transfer-Encoding: chunked", Assert.Single(raw.Violations), StringComparison.Ordinal);
        Assert.Empty(raw.Received);
    }

    [Fact]
    public async Task RawPartner_PostWithoutContentLength_Refused411AndRecorded()
    {
        await using var raw = new RawPartner();
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, raw.Root.Port);
        var stream = tcp.GetStream();
        var authorization = QrPaymentsClient.BasicAuthorization(QrService.PartnerUpstreamUser, QrService.PartnerUpstreamPassword);

        await stream.WriteAsync(Encoding.ASCII.GetBytes($"POST /qr/v1/payments HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: {authorization}\r\n\r\n{{}}"));
        using var reader = new StreamReader(stream, Encoding.ASCII);
        var statusLine = await reader.ReadLineAsync();

        Assert.StartsWith("HTTP/1.1 411 ", statusLine, StringComparison.Ordinal);
        Assert.Contains("no Content-Length", Assert.Single(raw.Violations), StringComparison.Ordinal);
        Assert.Empty(raw.Received);
    }

    /// <summary>The service (own database, manual clock) with the raw partner as its partner.</summary>
    internal sealed class RawWorld : IAsyncDisposable
    {
        private readonly ManualTimeProvider clock;
        private readonly QrPaymentsClient partnerApi;

        private RawWorld(RawPartner partner, QrService service, ManualTimeProvider clock)
        {
            Partner = partner;
            Service = service;
            this.clock = clock;
            Pos = service.Api();
            partnerApi = service.Api(QrService.Partner, QrService.PartnerPassword);
        }

        public RawPartner Partner { get; }
        public QrService Service { get; }
        public QrPaymentsClient Pos { get; }

        public static Task<RawWorld> StartAsync(Db db)
        {
            var partner = new RawPartner();
            var clock = new ManualTimeProvider();
            var service = new QrService(TestDatabase.Create(db), partner.BaseUrl, Flow.Settings(), clock);
            _ = service.Server; // start now, so the dispatcher runs from the beginning
            return Task.FromResult(new RawWorld(partner, service, clock));
        }

        public async Task<CreateQrCodeResponse> CodeAsync()
        {
            var response = await Pos.CreateQrCodeAsync(Messages.CreateQrCode());
            Assert.Equal(HttpStatusCode.Created, response.Status);
            return response.Body!;
        }

        /// <summary>Pays, waits until the service holds the pay, scans; returns the POS's answer.</summary>
        public async Task<QrResponse<PaymentResponse>> PayAndScanAsync(PaymentRequest request)
        {
            var paying = Pos.PayAsync(request);
            await Flow.UntilAsync(async () => paying.IsCompleted || await StateAsync(request.Id!) == PaymentState.AwaitingScan, "the pay to be held");
            var scan = SimulatorApp.Scan(new SimulatorOptions { PartnerId = QrService.Partner, PartnerName = "Raw Wallet" }, request.TranId!, "tok-raw");
            Assert.Equal(HttpStatusCode.Accepted, (await partnerApi.NotifyScanAsync(scan)).Status);
            return await paying;
        }

        public Task<PaymentState?> StateAsync(string requestId) =>
            Service.WithDbAsync(async db => (await db.Payments.AsNoTracking().SingleOrDefaultAsync(p => p.RequestId == requestId))?.State);

        public async ValueTask DisposeAsync()
        {
            // As Flow does: a failed test may leave a pay held on the manual clock.
            for (var i = 0; i < 10; i++)
            {
                clock.Advance(TimeSpan.FromMinutes(10));
            }

            await Service.DisposeAsync();
            await Partner.DisposeAsync();
        }
    }
}

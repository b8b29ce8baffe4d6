using Electrum.QrPayments.Api.Advices;
using Electrum.QrPayments.Api.Persistence;
using Electrum.QrPayments.Contracts.Client;
using Electrum.QrPayments.PartnerSimulator;
using Microsoft.EntityFrameworkCore;
using Xunit.Abstractions;

namespace Electrum.QrPayments.Tests.Resilience;

/// <summary>Two service processes on one PostgreSQL database, used as a load balancer would.</summary>
public class TwoProcessTests(ITestOutputHelper output)
{
    [PostgresFact]
    public async Task TwoProcesses_PayOnOneScanOnOtherAdvicesThroughBoth_AllCompleteEachAdviceSentOnce()
    {
        await using var partner = await Partner.StartAsync();
        await using var database = TestDatabase.Create(Db.Postgres);
        var settings = new Dictionary<string, string> { ["QrPayments__Outbox__PollInterval"] = "00:00:00.050" };
        await using var a = new ServiceProcess(database, partner, Loopback.FreePort(), settings);
        await using var b = new ServiceProcess(database, partner, Loopback.FreePort(), settings);
        await a.StartAsync();
        await b.StartAsync();
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(60) };
        var posA = new QrPaymentsClient(http, a.BaseUrl, new NetworkCredential(QrService.Client, QrService.ClientPassword));
        var posB = new QrPaymentsClient(http, b.BaseUrl, new NetworkCredential(QrService.Client, QrService.ClientPassword));
        var scanB = new QrPaymentsClient(http, b.BaseUrl, new NetworkCredential(QrService.Partner, QrService.PartnerPassword));
        const int count = 40;

        var approved = await Task.WhenAll(Enumerable.Range(0, count).Select(async i =>
        {
            var code = (await posA.CreateQrCodeAsync(Messages.CreateQrCode())).Body!;
            var request = Flow.PaymentFor(code.TranId!);
            var paying = posA.PayAsync(request);
            while (!paying.IsCompleted &&
                   (await scanB.NotifyScanAsync(SimulatorApp.Scan(partner.Options, code.TranId!, $"tok-{i}"))).Status != HttpStatusCode.Accepted)
            {
                await Task.Delay(20);
            }

            Assert.Equal(HttpStatusCode.Created, (await paying).Status);
            return request;
        }));
        var advices = await Task.WhenAll(approved.Select((p, i) => i % 2 == 0
            ? posB.ConfirmPaymentAsync(Flow.ConfirmationOf(p.Id!)).ContinueWith(t => t.Result.Status, TaskScheduler.Default)
            : posA.ReversePaymentAsync(Flow.ReversalOf(p.Id!, ReversalReason.Cancelled)).ContinueWith(t => t.Result.Status, TaskScheduler.Default)));
        Assert.All(advices, s => Assert.Equal(HttpStatusCode.Accepted, s));

        var options = new DbContextOptionsBuilder<QrDbContext>().UseNpgsql(database.ConnectionString).Options;
        await Flow.UntilAsync(async () =>
        {
            await using var db = new QrDbContext(options);
            return await db.Outbox.CountAsync(o => o.State == OutboxState.Delivered) == count;
        }, "every advice delivered", seconds: 60);
        await using var check = new QrDbContext(options);
        var queued = await check.Outbox.Select(o => o.MessageId).ToListAsync();
        var received = partner.State.ReceivedMessages.Where(r => r.Operation != SimulatorState.Pay)
            .Select(r => r.Body.GetProperty("id").GetString()).ToList();

        output.WriteLine($"{count} payments on two processes; partner got {partner.State.ReceivedMessages.Count(r => r.Operation == SimulatorState.Pay)} payments, {received.Count} advices");
        Assert.Equal(count, partner.State.ReceivedMessages.Count(r => r.Operation == SimulatorState.Pay));
        Assert.Equal(count, received.Count);
        Assert.Equal(queued.Order(), received.Order()!);
    }
}

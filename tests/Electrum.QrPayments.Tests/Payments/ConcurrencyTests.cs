using Electrum.QrPayments.Api.Payments;
using Electrum.QrPayments.PartnerSimulator;
using Microsoft.EntityFrameworkCore;

namespace Electrum.QrPayments.Tests.Payments;

/// <summary>Races the interface allows: many copies of one message at once.</summary>
public class ConcurrencyTests
{
    private const int Copies = 64;

    [Theory]
    [Databases]
    public async Task Pay_SameIdSixtyFourTimesAtOnce_OneProceedsRestDuplicateAndPartnerSeesOne(Db db)
    {
        await using var flow = await Flow.StartAsync(db);
        var code = await flow.CodeAsync();
        var payment = Flow.PaymentFor(code.TranId!);

        var attempts = Enumerable.Range(0, Copies).Select(_ => flow.Pos.PayAsync(payment)).ToList();
        await Flow.UntilAsync(async () => attempts.Count(a => a.IsCompleted) == Copies - 1 &&
                                          await flow.StateAsync(payment.Id!) == PaymentState.AwaitingScan, "all but one to be refused");
        Assert.Equal(HttpStatusCode.Accepted, (await flow.ScanAsync(code.TranId!)).Status);
        var answers = await Task.WhenAll(attempts);

        Assert.Single(answers, a => a.Status == HttpStatusCode.Created);
        Assert.Equal(Copies - 1, answers.Count(a => a.Error?.ErrorType == ErrorType.DuplicateRecord));
        Assert.Single(flow.Partner.Received<PaymentRequest>(SimulatorState.Pay));
        Assert.Equal(1, await flow.Service.WithDbAsync(d => d.Payments.CountAsync()));
    }

    [Theory]
    [Databases]
    public async Task ReversePayment_SixtyFourAtOnce_AllAcceptedAndPartnerSeesOneReversal(Db db)
    {
        await using var flow = await Flow.StartAsync(db);
        var payment = await flow.ApprovedPaymentAsync();

        var answers = await Task.WhenAll(Enumerable.Range(0, Copies)
            .Select(_ => flow.Pos.ReversePaymentAsync(Flow.ReversalOf(payment.Id!, ReversalReason.Cancelled))));

        Assert.All(answers, a => Assert.Equal(HttpStatusCode.Accepted, a.Status));
        await flow.UntilReceivedAsync(SimulatorState.Reverse, 1);
        Assert.Single(await flow.OutboxAsync());
        await Task.Delay(300);
        Assert.Single(flow.Partner.Received<PaymentReversal>(SimulatorState.Reverse));
        Assert.Equal(Copies, await flow.Service.WithDbAsync(d => d.Advices.CountAsync()));
    }

    [Theory]
    [Databases]
    public async Task ReversePayment_SameAdviceSixtyFourTimesAtOnce_OneRecordedAllAnsweredAlike(Db db)
    {
        await using var flow = await Flow.StartAsync(db);
        var payment = await flow.ApprovedPaymentAsync();
        var reversal = Flow.ReversalOf(payment.Id!, ReversalReason.Cancelled);

        var answers = await Task.WhenAll(Enumerable.Range(0, Copies).Select(_ => flow.Pos.ReversePaymentAsync(reversal)));

        Assert.All(answers, a => Assert.Equal(HttpStatusCode.Accepted, a.Status));
        Assert.Equal(1, await flow.Service.WithDbAsync(d => d.Advices.CountAsync()));
        Assert.Single(await flow.OutboxAsync());
    }

    [Theory]
    [Databases]
    public async Task NotifyScan_EightScansRaceForOnePayment_ExactlyOneMatches(Db db)
    {
        await using var flow = await Flow.StartAsync(db);
        // Single-use: a scan that comes after the payment completed is refused at once (on a reusable
        // code it would wait EarlyScanGrace for the next payment).
        var code = await flow.CodeAsync(new QrProperties { SingleUse = true });
        var payment = Flow.PaymentFor(code.TranId!);
        var paying = await flow.StartPayAsync(payment);

        var scanning = Enumerable.Range(0, 8).Select(_ => flow.ScanAsync(code.TranId!)).ToList();
        var all = Task.WhenAll(scanning);
        await flow.AdvanceUntilAsync(all, TimeSpan.FromMilliseconds(500));
        if (await Task.WhenAny(all, Task.Delay(20_000)) != all)
        {
            Assert.Fail($"scans stalled: {scanning.Count(t => t.IsCompleted)} of 8 done; pay done {paying.IsCompleted}; state {await flow.StateAsync(payment.Id!)}");
        }

        var scans = await all;

        Assert.True(scans.Count(s => s.Status == HttpStatusCode.Accepted) == 1,
            string.Join(", ", scans.Select(s => $"{(int)s.Status} {s.Error?.ErrorType} {s.Error?.DetailMessage}")));
        Assert.All(scans.Where(s => s.Status != HttpStatusCode.Accepted), s => Assert.Equal(HttpStatusCode.BadRequest, s.Status));
        if (await Task.WhenAny(paying, Task.Delay(20_000)) != paying)
        {
            Assert.Fail($"pay stalled; state {await flow.StateAsync(payment.Id!)}; partner got {flow.Partner.State.ReceivedMessages.Count}");
        }

        Assert.Equal(HttpStatusCode.Created, (await paying).Status);
        Assert.Single(flow.Partner.Received<PaymentRequest>(SimulatorState.Pay));
    }
}

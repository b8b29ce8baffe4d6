using Electrum.QrPayments.Api;
using Electrum.QrPayments.Api.Advices;
using Electrum.QrPayments.Api.Payments;
using Electrum.QrPayments.PartnerSimulator;
using System.Data.Common;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Electrum.QrPayments.Tests.Advices;

/// <summary>Payments a crashed instance left mid-flight are ended, and what the partner needs still reaches it.</summary>
public class RecoveryTests
{
    [Theory]
    [Databases]
    public async Task Sweep_HeldPaymentWhoseInstanceDied_EndsAsNoScan(Db db)
    {
        await using var flow = await Flow.StartAsync(db);
        var code = await flow.CodeAsync();
        var request = Flow.PaymentFor(code.TranId!);
        await LeftBehindAsync(flow, request, forwarded: false);

        await AdvanceUntilStateAsync(flow, request.Id!, PaymentState.NoScan);

        Assert.Empty(await flow.OutboxAsync());
        Assert.Empty(flow.Partner.State.ReceivedMessages);
    }

    [Theory]
    [Databases]
    public async Task Sweep_ForwardedPaymentWithNoOutcome_TimesOutAndReversalReachesPartner(Db db)
    {
        await using var flow = await Flow.StartAsync(db);
        var code = await flow.CodeAsync();
        var request = Flow.PaymentFor(code.TranId!);
        var payment = await LeftBehindAsync(flow, request, forwarded: true);

        await AdvanceUntilStateAsync(flow, request.Id!, PaymentState.TimedOut);

        await flow.UntilReceivedAsync(SimulatorState.Reverse, 1);
        var reversal = Assert.Single(flow.Partner.Received<PaymentReversal>(SimulatorState.Reverse));
        Assert.Equal(payment.UpstreamRequestId, reversal.RequestId);
        Assert.Equal(ReversalReason.Timeout, reversal.ReversalReason);
    }

    [Fact]
    public async Task Sweep_LivePaymentWithinItsDeadlines_IsLeftAlone()
    {
        await using var flow = await Flow.StartAsync(Db.Sqlite);
        var code = await flow.CodeAsync();
        var request = Flow.PaymentFor(code.TranId!);
        await LeftBehindAsync(flow, request, forwarded: true);
        var sweeper = flow.Service.Services.GetServices<IHostedService>().OfType<PaymentSweeper>().Single();

        var ended = await sweeper.SweepAsync();

        Assert.Equal(0, ended);
        Assert.Equal(PaymentState.Forwarded, await flow.StateAsync(request.Id!));
    }

    [Fact]
    public async Task Sweep_HeldPaymentOnExpiredCode_EndsAsNoScan()
    {
        await using var flow = await Flow.StartAsync(Db.Sqlite);
        var code = await flow.CodeAsync(new QrProperties { ExpiryDate = flow.Clock.GetUtcNow().AddSeconds(10) });
        var request = Flow.PaymentFor(code.TranId!);
        await LeftBehindAsync(flow, request, forwarded: false);

        // 11 s on: the code has expired, the 30 s hold has not; the periodic sweep (every 10 s) ends it.
        flow.Clock.Advance(TimeSpan.FromSeconds(11));

        await Flow.UntilAsync(async () => await flow.StateAsync(request.Id!) == PaymentState.NoScan, "the sweep to end the payment");
    }

    [Theory]
    [Databases]
    public async Task Sweep_AfterACompletePass_LooksOnlyAtPaymentsCreatedWithinTheHorizon(Db db)
    {
        await using var flow = await Flow.StartAsync(db);
        var services = flow.Service.Services;
        var sweeper = services.GetServices<IHostedService>().OfType<PaymentSweeper>().Single();
        var horizon = PaymentSweeper.Horizon(services.GetRequiredService<IOptions<QrPaymentsOptions>>().Value);
        await sweeper.SweepAsync();
        var now = flow.Clock.GetUtcNow();
        // Both past their hold: one created within the horizon of that complete pass, one before it
        // (as an instance whose clock is far behind could leave: the first pass and the hourly full
        // pass cover it).
        var recent = Flow.PaymentFor((await flow.CodeAsync()).TranId!);
        await LeftBehindAsync(flow, recent, forwarded: false, createdAt: now - Flow.ScanWait - TimeSpan.FromMinutes(1));
        var old = Flow.PaymentFor((await flow.CodeAsync()).TranId!);
        await LeftBehindAsync(flow, old, forwarded: false, createdAt: now - horizon - TimeSpan.FromMinutes(1));

        // (The loop's start-up pass may come this late too; after the first complete pass it is windowed as well.)
        await sweeper.SweepAsync();

        Assert.Equal(PaymentState.NoScan, await flow.StateAsync(recent.Id!));
        Assert.Equal(PaymentState.AwaitingScan, await flow.StateAsync(old.Id!));

        // The hourly full pass (like an instance's first) looks at every payment.
        flow.Clock.Advance(PaymentSweeper.FullPassEvery);
        await Flow.UntilAsync(async () => await flow.StateAsync(old.Id!) == PaymentState.NoScan, "the hourly full pass to end it");
    }

    [Theory]
    [Databases]
    public async Task Sweep_ForwardedPaymentReversedAfterAnOutageLongerThanTheHorizon_StillTimesOut(Db db)
    {
        var outage = new SweepOutage();
        await using var flow = await Flow.StartAsync(db, interceptor: outage);
        var services = flow.Service.Services;
        var sweeper = services.GetServices<IHostedService>().OfType<PaymentSweeper>().Single();
        var horizon = PaymentSweeper.Horizon(services.GetRequiredService<IOptions<QrPaymentsOptions>>().Value);
        await sweeper.SweepAsync();
        var request = Flow.PaymentFor((await flow.CodeAsync()).TranId!);
        await LeftBehindAsync(flow, request, forwarded: true);

        // The sweep fails for longer than the horizon (the periodic pass too), and the POS's
        // reversal lands before a pass succeeds again, moving the forwarded payment once more.
        outage.Failing = true;
        flow.Clock.Advance(horizon + TimeSpan.FromMinutes(1));
        await Assert.ThrowsAsync<InvalidOperationException>(sweeper.SweepAsync);
        var reversal = await flow.Pos.ReversePaymentAsync(Flow.ReversalOf(request.Id!, ReversalReason.Timeout));
        Assert.Equal(HttpStatusCode.Accepted, reversal.Status);
        outage.Failing = false;
        Assert.Equal(0, await sweeper.SweepAsync());
        Assert.Equal(PaymentState.Forwarded, await flow.StateAsync(request.Id!));

        // The complete pass did not move the window past it: it still times out, and the partner is told.
        await AdvanceUntilStateAsync(flow, request.Id!, PaymentState.TimedOut);
        await flow.UntilReceivedAsync(SimulatorState.Reverse, 1);
    }

    // A database that refuses the sweep's queries while Failing.
    private sealed class SweepOutage : DbCommandInterceptor
    {
        public volatile bool Failing;

        public override InterceptionResult<DbDataReader> ReaderExecuting(DbCommand command, CommandEventData eventData, InterceptionResult<DbDataReader> result)
        {
            Refuse(command);
            return result;
        }

        public override ValueTask<InterceptionResult<DbDataReader>> ReaderExecutingAsync(DbCommand command, CommandEventData eventData,
            InterceptionResult<DbDataReader> result, CancellationToken cancellationToken = default)
        {
            Refuse(command);
            return ValueTask.FromResult(result);
        }

        private void Refuse(DbCommand command)
        {
            if (Failing && command.CommandText.Contains(PaymentSweeper.SweepTag, StringComparison.Ordinal))
            {
                throw new InvalidOperationException("the database is unavailable");
            }
        }
    }

    // What a crash leaves: the rows as they were committed, and no request waiting on them.
    private static Task<Payment> LeftBehindAsync(Flow flow, PaymentRequest request, bool forwarded, DateTimeOffset? createdAt = null) =>
        flow.Service.WithDbAsync(async db =>
        {
            var now = createdAt ?? flow.Clock.GetUtcNow();
            var payment = Payment.Request(request.Id!, QrService.Client, request.TranId!, 10000, "710",
                JsonSerializer.Serialize(request, QrJson.Options), now, now + Flow.ScanWait);
            if (forwarded)
            {
                payment.MatchScan(QrService.Partner, "Test Wallet", "tok", now);
            }

            db.Payments.Add(payment);
            await db.SaveChangesAsync();
            return payment;
        });

    private static async Task AdvanceUntilStateAsync(Flow flow, string requestId, PaymentState state)
    {
        for (var i = 0; i < 100 && await flow.StateAsync(requestId) != state; i++)
        {
            flow.Clock.Advance(TimeSpan.FromSeconds(5));
            await Task.Delay(30);
        }

        Assert.Equal(state, await flow.StateAsync(requestId));
    }
}

using Electrum.QrPayments.Api.Payments;

namespace Electrum.QrPayments.Tests.Payments;

public class PaymentAggregateTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 22, 10, 0, 0, TimeSpan.Zero);

    private static Payment Held() => Payment.Request(Guid.NewGuid().ToString(), "pos-1", "abc", 100, "710", "{}", Now, Now.AddSeconds(30));

    [Fact]
    public void Confirm_WhileAwaitingScan_ThrowsInvalidTransition()
    {
        var payment = Held();

        Assert.Throws<InvalidTransitionException>(() => payment.Confirm(Now));
        Assert.Equal(PaymentState.AwaitingScan, payment.State);
    }

    [Fact]
    public void Reverse_AfterConfirm_Throws()
    {
        var payment = Held();
        payment.MatchScan("partner-1", "P", null, Now);
        payment.Approve("{}", singleUseCode: false, Now);
        payment.Confirm(Now);

        Assert.Throws<InvalidTransitionException>(() => payment.Reverse(Now));
    }

    [Fact]
    public void Transitions_EachMove_BumpsVersionAndAddsAuditRow()
    {
        var payment = Held();
        var version = payment.Version;

        payment.MatchScan("partner-1", "P", "tok", Now);
        payment.Approve("{}", singleUseCode: true, Now);

        Assert.Equal(version + 2, payment.Version);
        Assert.Equal([version, version + 1, version + 2], payment.Transitions.Select(t => t.Version));
        Assert.Equal("abc", payment.ActiveTranId);
    }

    [Fact]
    public void RequestReversal_WhileForwarded_BumpsVersionAndAddsAuditRowKeepingTheState()
    {
        var payment = Held();
        payment.MatchScan("partner-1", "P", null, Now);
        var version = payment.Version;

        payment.RequestReversal(Contracts.Models.ReversalReason.Cancelled, Now);

        var last = payment.Transitions.Last();
        Assert.Equal((PaymentState.Forwarded, version + 1), (payment.State, payment.Version));
        Assert.Equal((PaymentState.Forwarded, PaymentState.Forwarded, PaymentCause.ReversalRequested, version + 1),
            (last.From!.Value, last.To, last.Cause, last.Version));
    }

    [Fact]
    public void Approve_ReusableCode_ReleasesTheCode()
    {
        var payment = Held();
        payment.MatchScan("partner-1", "P", null, Now);

        payment.Approve("{}", singleUseCode: false, Now);

        Assert.Null(payment.ActiveTranId);
    }

    [Fact]
    public void FinalStates_AllowNoTransition()
    {
        foreach (var state in new[] { PaymentState.Declined, PaymentState.NoScan, PaymentState.TimedOut, PaymentState.Confirmed, PaymentState.Reversed })
        {
            Assert.Empty(Payment.Allowed[state]);
        }
    }

    [Fact]
    public void RequestReversal_WhenNotForwarded_Throws() =>
        Assert.Throws<InvalidTransitionException>(() => Held().RequestReversal(Contracts.Models.ReversalReason.Cancelled, Now));
}

using Electrum.QrPayments.Contracts.Models;

namespace Electrum.QrPayments.Api.Payments;

/// <summary>A transition the table does not allow: a bug or a lost race, never silently ignored.</summary>
public sealed class InvalidTransitionException(PaymentState from, PaymentState to, PaymentCause cause)
    : InvalidOperationException($"payment cannot move from {from} to {to} ({cause})")
{
    public PaymentState From { get; } = from;
    public PaymentState To { get; } = to;
}

/// <summary>
/// The payment aggregate. Its state changes only through the methods below, each checked against
/// <see cref="Allowed"/>; every change bumps <see cref="Version"/> (the optimistic concurrency
/// token, so two writers can never both move one payment) and adds an audit row carrying the
/// version it made. Audit rows are unique per payment and version, so of two writers that started
/// from the same version the database itself refuses the second one's rows (QrDbContext relies on
/// it to save without a transaction of its own).
/// </summary>
public sealed class Payment
{
    /// <summary>The one transition table.</summary>
    public static readonly IReadOnlyDictionary<PaymentState, PaymentState[]> Allowed = new Dictionary<PaymentState, PaymentState[]>
    {
        [PaymentState.AwaitingScan] = [PaymentState.Forwarded, PaymentState.NoScan, PaymentState.Reversed],
        [PaymentState.Forwarded] = [PaymentState.Approved, PaymentState.Declined, PaymentState.TimedOut, PaymentState.Reversed],
        [PaymentState.Approved] = [PaymentState.Confirmed, PaymentState.Reversed],
        [PaymentState.Declined] = [],
        [PaymentState.NoScan] = [],
        [PaymentState.TimedOut] = [],
        [PaymentState.Confirmed] = [],
        [PaymentState.Reversed] = [],
    };

    private readonly List<PaymentTransition> transitions = [];

    private Payment() { }

    public Guid Id { get; private set; }

    /// <summary>The POS's PaymentRequest id (unique: a reuse is DUPLICATE_RECORD).</summary>
    public string RequestId { get; private set; } = "";
    public string ClientId { get; private set; } = "";

    /// <summary>Null only for a reversal tombstone (a reversal that arrived before its payment).</summary>
    public string? TranId { get; private set; }

    /// <summary>
    /// The tranId while this payment holds its QR code (unique index: one pending payment per code;
    /// a single-use code stays held once approved). Cleared when the code is free again.
    /// </summary>
    public string? ActiveTranId { get; private set; }

    public PaymentState State { get; private set; }
    public long Amount { get; private set; }
    public string Currency { get; private set; } = "";

    /// <summary>The id of the PaymentRequest we send upstream (never the POS's id); fixed before sending.</summary>
    public string UpstreamRequestId { get; private set; } = "";

    /// <summary>The POS's request, kept to forward it and to answer with its ids.</summary>
    public string RequestJson { get; private set; } = "";

    public string? PartnerId { get; private set; }
    public string? PartnerName { get; private set; }
    public string? PartnerPaymentToken { get; private set; }

    /// <summary>The partner's approval as we answered the POS (kept for advices upstream).</summary>
    public string? ResponseJson { get; private set; }

    /// <summary>A POS reversal arrived while the partner was being asked; applied when it answers.</summary>
    public bool ReversalRequested { get; private set; }

    /// <summary>The reason the POS gave with that reversal, passed on to the partner.</summary>
    public ReversalReason? RequestedReversalReason { get; private set; }

    public DateTimeOffset CreatedAt { get; private set; }
    public DateTimeOffset UpdatedAt { get; private set; }
    public DateTimeOffset HoldUntil { get; private set; }
    public int Version { get; private set; }

    /// <summary>The audit trail; new rows are saved with the state change that made them.</summary>
    public IReadOnlyCollection<PaymentTransition> Transitions => transitions;

    public bool IsPending => State is PaymentState.AwaitingScan or PaymentState.Forwarded;

    public static Payment Request(string requestId, string clientId, string tranId, long amount, string currency,
        string requestJson, DateTimeOffset now, DateTimeOffset holdUntil)
    {
        var payment = new Payment
        {
            Id = Guid.CreateVersion7(now),
            RequestId = requestId,
            ClientId = clientId,
            TranId = tranId,
            ActiveTranId = tranId,
            State = PaymentState.AwaitingScan,
            Amount = amount,
            Currency = currency,
            UpstreamRequestId = Guid.CreateVersion7(now).ToString(),
            RequestJson = requestJson,
            CreatedAt = now,
            UpdatedAt = now,
            HoldUntil = holdUntil,
        };
        payment.transitions.Add(new PaymentTransition(payment.Id, payment.Version, null, PaymentState.AwaitingScan, PaymentCause.PaymentRequested, now));
        return payment;
    }

    /// <summary>A reversal for an id we have not seen: remembered so the payment, if it comes later, is refused.</summary>
    public static Payment Tombstone(string requestId, string clientId, DateTimeOffset now)
    {
        var payment = new Payment
        {
            Id = Guid.CreateVersion7(now),
            RequestId = requestId,
            ClientId = clientId,
            State = PaymentState.Reversed,
            UpstreamRequestId = Guid.CreateVersion7(now).ToString(),
            CreatedAt = now,
            UpdatedAt = now,
            HoldUntil = now,
        };
        payment.transitions.Add(new PaymentTransition(payment.Id, payment.Version, null, PaymentState.Reversed, PaymentCause.ReversalBeforePayment, now));
        return payment;
    }

    public void MatchScan(string partnerId, string? partnerName, string? partnerPaymentToken, DateTimeOffset now)
    {
        Move(PaymentState.Forwarded, PaymentCause.ScanMatched, now);
        PartnerId = partnerId;
        PartnerName = partnerName;
        PartnerPaymentToken = partnerPaymentToken;
    }

    public void ExpireHold(DateTimeOffset now) => Move(PaymentState.NoScan, PaymentCause.ScanWaitExpired, now);

    public void Approve(string responseJson, bool singleUseCode, DateTimeOffset now)
    {
        Move(PaymentState.Approved, PaymentCause.PartnerApproved, now);
        ResponseJson = responseJson;
        // A single-use code stays held by its completed payment; a reusable one is free again.
        ActiveTranId = singleUseCode ? TranId : null;
    }

    public void Decline(DateTimeOffset now) => Move(PaymentState.Declined, PaymentCause.PartnerDeclined, now);

    public void TimeOut(DateTimeOffset now) => Move(PaymentState.TimedOut, PaymentCause.PartnerOutcomeUnknown, now);

    public void Confirm(DateTimeOffset now) => Move(PaymentState.Confirmed, PaymentCause.ConfirmedByPos, now);

    public void Reverse(DateTimeOffset now) => Move(PaymentState.Reversed, PaymentCause.ReversedByPos, now);

    /// <summary>
    /// A POS reversal while the partner is being asked: recorded (with an audit row, though the state
    /// stays Forwarded), applied once it answers.
    /// </summary>
    public void RequestReversal(ReversalReason reason, DateTimeOffset now)
    {
        if (State != PaymentState.Forwarded)
        {
            throw new InvalidTransitionException(State, State, PaymentCause.ReversedByPos);
        }

        ReversalRequested = true;
        RequestedReversalReason = reason;
        Touch(State, PaymentCause.ReversalRequested, now);
    }

    private void Move(PaymentState to, PaymentCause cause, DateTimeOffset now)
    {
        if (!Allowed[State].Contains(to))
        {
            throw new InvalidTransitionException(State, to, cause);
        }

        var from = State;
        State = to;
        if (to is not (PaymentState.Forwarded or PaymentState.Approved))
        {
            ActiveTranId = to == PaymentState.Confirmed ? ActiveTranId : null;
        }

        Touch(from, cause, now);
    }

    // Every change is one version and one audit row with that version: never one without the other.
    private void Touch(PaymentState from, PaymentCause cause, DateTimeOffset now)
    {
        UpdatedAt = now;
        Version++;
        transitions.Add(new PaymentTransition(Id, Version, from, State, cause, now));
    }
}

/// <summary>One audit row: a payment moved from one state to another (or took a reversal request), why, and when.</summary>
public sealed class PaymentTransition(Guid paymentId, int version, PaymentState? from, PaymentState to, PaymentCause cause, DateTimeOffset at)
{
    public long Id { get; private set; }
    public Guid PaymentId { get; private set; } = paymentId;

    /// <summary>The payment's version this change made (unique per payment).</summary>
    public int Version { get; private set; } = version;
    public PaymentState? From { get; private set; } = from;
    public PaymentState To { get; private set; } = to;
    public PaymentCause Cause { get; private set; } = cause;
    public DateTimeOffset At { get; private set; } = at;
}

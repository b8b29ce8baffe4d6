namespace Electrum.QrPayments.Api.Payments;

/// <summary>Where a payment is in its life. Stored by name.</summary>
public enum PaymentState
{
    /// <summary>pay is held, waiting for the partner's scan.</summary>
    AwaitingScan,
    /// <summary>Scan matched; the payment is with the partner and we await its answer.</summary>
    Forwarded,
    /// <summary>The partner approved; the POS will confirm or reverse.</summary>
    Approved,
    /// <summary>The partner refused (a failed outcome). Final.</summary>
    Declined,
    /// <summary>No scan within ScanWait. Final.</summary>
    NoScan,
    /// <summary>The partner's outcome is unknown (5xx, timeout, no answer): our timeout reversal is queued. Final.</summary>
    TimedOut,
    /// <summary>Confirmed by the POS; settled, cannot be reversed. Final.</summary>
    Confirmed,
    /// <summary>Reversed (by the POS, before or after approval). Final.</summary>
    Reversed,
}

/// <summary>Why a transition happened; written to the audit trail.</summary>
public enum PaymentCause
{
    PaymentRequested,
    ScanMatched,
    ScanWaitExpired,
    PartnerApproved,
    PartnerDeclined,
    PartnerOutcomeUnknown,
    ConfirmedByPos,
    ReversedByPos,
    ReversalBeforePayment,

    /// <summary>A POS reversal arrived while the partner was being asked: the state stays Forwarded.</summary>
    ReversalRequested,
}

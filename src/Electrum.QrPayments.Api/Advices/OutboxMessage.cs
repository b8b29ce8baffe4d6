namespace Electrum.QrPayments.Api.Advices;

public enum OutboxState
{
    /// <summary>Waiting for (re)delivery.</summary>
    Pending,
    /// <summary>The partner answered with a successful outcome.</summary>
    Delivered,
    /// <summary>The partner answered with a failed outcome: final, shown to operators.</summary>
    Failed,
}

/// <summary>
/// An advice to deliver to a partner (store-and-forward). Written in the same transaction as the
/// state change that calls for it; delivered in id order per payment, with the same upstream
/// message id on every attempt.
/// </summary>
public sealed class OutboxMessage
{
    public long Id { get; private set; }
    public Guid PaymentId { get; init; }
    public AdviceKind Kind { get; init; }
    public required string PartnerId { get; init; }

    /// <summary>Our id for this advice upstream; the same on every retry.</summary>
    public required string MessageId { get; init; }

    /// <summary>The advice exactly as it is sent.</summary>
    public required string Body { get; init; }

    public OutboxState State { get; set; }
    public int Attempts { get; set; }
    public DateTimeOffset CreatedAt { get; init; }
    public DateTimeOffset NextAttemptAt { get; set; }
    public int? LastStatus { get; set; }
    public string? LastError { get; set; }
    public DateTimeOffset? CompletedAt { get; set; }

    /// <summary>Which dispatcher holds it, and until when (a crashed holder's lease simply runs out).</summary>
    public string? LeaseOwner { get; set; }
    public DateTimeOffset? LeaseUntil { get; set; }
}

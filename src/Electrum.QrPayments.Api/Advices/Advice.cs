namespace Electrum.QrPayments.Api.Advices;

public enum AdviceKind
{
    Confirmation,
    Reversal,
}

/// <summary>
/// An advice we accepted from a POS, kept so that a retry with the same id and body is answered
/// exactly as the first time, and a reuse of the id with another body is refused.
/// </summary>
public sealed class Advice
{
    /// <summary>The advice's own message id.</summary>
    public required string Id { get; init; }
    public AdviceKind Kind { get; init; }
    public required string RequestId { get; init; }
    public required string ClientId { get; init; }

    /// <summary>SHA-256 of the advice as parsed and re-serialized (so whitespace and order do not matter).</summary>
    public required string BodyHash { get; init; }

    public int ResponseStatus { get; init; }
    public string? ResponseJson { get; init; }
    public DateTimeOffset ReceivedAt { get; init; }
}

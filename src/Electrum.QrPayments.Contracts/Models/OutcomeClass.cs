namespace Electrum.QrPayments.Contracts.Models;

/// <summary>The interface's classification of a response.</summary>
public enum OutcomeClass
{
    /// <summary>200, 201, 202, and 404 for an advice (the record is already gone or never was).</summary>
    Successful,
    /// <summary>500, 504, a timeout or no answer: the outcome must be settled by a reversal or a retry.</summary>
    Unknown,
    /// <summary>Everything else, 400 and 503 among them: final, nothing more to do.</summary>
    Failed,
}

/// <summary>Maps an HTTP status to the interface's outcome class.</summary>
public static class Outcomes
{
    /// <param name="status">The HTTP status received, or null when none was (timeout, connection failure).</param>
    /// <param name="isAdvice">Advices treat 404 as successful; requests treat it as failed.</param>
    public static OutcomeClass Classify(int? status, bool isAdvice) => status switch
    {
        null or 500 or 504 => OutcomeClass.Unknown,
        200 or 201 or 202 => OutcomeClass.Successful,
        404 when isAdvice => OutcomeClass.Successful,
        _ => OutcomeClass.Failed,
    };
}

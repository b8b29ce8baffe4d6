using Electrum.QrPayments.Contracts.Models;

namespace Electrum.QrPayments.Api.Partners;

/// <summary>
/// How this service classifies what a partner answers it. Stricter than the interface's published
/// table where that table would cost money: an answer we cannot trust to mean "not done" is
/// unknown, so a pay gets a timeout reversal and an advice is tried again.
/// </summary>
public static class PartnerAnswers
{
    /// <summary>The partner's answer to our pay.</summary>
    /// <param name="status">The HTTP status, or null when none came (timeout, no connection).</param>
    /// <param name="validResponse">The body is a valid PaymentResponse.</param>
    /// <param name="errorDetail">The body is a readable ErrorDetail.</param>
    public static OutcomeClass ClassifyPay(int? status, bool validResponse, bool errorDetail) => status switch
    {
        // A 2xx without a PaymentResponse we can read may still be an approval.
        200 or 201 or 202 => validResponse ? OutcomeClass.Successful : OutcomeClass.Unknown,
        501 or 503 => OutcomeClass.Failed,
        _ => ClassifyFailure(status, errorDetail),
    };

    /// <summary>The partner's answer to a confirmation or reversal we deliver.</summary>
    public static OutcomeClass ClassifyAdvice(int? status, bool errorDetail) => status switch
    {
        200 or 201 or 202 or 404 => OutcomeClass.Successful,
        // Other 2xx: not an answer the interface defines; final, and shown to operators.
        >= 200 and < 300 => OutcomeClass.Failed,
        // 501/503 included: a maintenance window must not end a reversal that has to arrive.
        >= 500 => OutcomeClass.Unknown,
        _ => ClassifyFailure(status, errorDetail),
    };

    // 4xx with an ErrorDetail is a refusal; 408/429, redirects, 5xx, bodies we cannot read and no
    // answer at all say nothing about whether the partner acted.
    private static OutcomeClass ClassifyFailure(int? status, bool errorDetail) => status switch
    {
        408 or 429 => OutcomeClass.Unknown,
        >= 400 and < 500 when errorDetail => OutcomeClass.Failed,
        _ => OutcomeClass.Unknown,
    };
}

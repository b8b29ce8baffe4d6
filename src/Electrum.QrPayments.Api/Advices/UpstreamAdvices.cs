using System.Text.Json;
using Electrum.QrPayments.Api.Payments;
using Electrum.QrPayments.Contracts.Json;
using Electrum.QrPayments.Contracts.Models;

namespace Electrum.QrPayments.Api.Advices;

/// <summary>
/// Builds the advices we send to a partner. They carry our own message ids and refer to the
/// PaymentRequest we sent (its upstream id), never to the POS's ids.
/// </summary>
public static class UpstreamAdvices
{
    public static OutboxMessage Confirmation(Payment payment, PaymentConfirmation fromPos, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(payment);
        ArgumentNullException.ThrowIfNull(fromPos);
        var id = Guid.CreateVersion7(now).ToString();
        var advice = new PaymentConfirmation
        {
            Id = id,
            RequestId = payment.UpstreamRequestId,
            Time = now,
            ThirdPartyIdentifiers = Identifiers(payment),
            Stan = fromPos.Stan,
            Rrn = fromPos.Rrn,
            Amounts = fromPos.Amounts ?? Amounts(payment),
            Partner = Partner(payment),
            TranId = payment.TranId,
        };
        return Message(payment, AdviceKind.Confirmation, id, JsonSerializer.Serialize(advice, QrJson.Options), now);
    }

    public static OutboxMessage Reversal(Payment payment, ReversalReason reason, PaymentReversal? fromPos, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(payment);
        var id = Guid.CreateVersion7(now).ToString();
        var advice = new PaymentReversal
        {
            Id = id,
            RequestId = payment.UpstreamRequestId,
            Time = now,
            ThirdPartyIdentifiers = Identifiers(payment),
            Stan = fromPos?.Stan,
            Rrn = fromPos?.Rrn,
            Amounts = fromPos?.Amounts ?? Amounts(payment),
            ReversalReason = reason,
            Partner = Partner(payment),
            TranId = payment.TranId,
        };
        return Message(payment, AdviceKind.Reversal, id, JsonSerializer.Serialize(advice, QrJson.Options), now);
    }

    private static OutboxMessage Message(Payment payment, AdviceKind kind, string id, string body, DateTimeOffset now) => new()
    {
        PaymentId = payment.Id,
        Kind = kind,
        PartnerId = payment.PartnerId ?? throw new InvalidOperationException("an advice needs the partner that was asked"),
        MessageId = id,
        Body = body,
        State = OutboxState.Pending,
        CreatedAt = now,
        NextAttemptAt = now,
    };

    // "The unaltered thirdPartyIdentifiers array as supplied in the PaymentResponse", else as we sent it.
    private static IReadOnlyList<ThirdPartyIdentifier?> Identifiers(Payment payment)
    {
        var response = payment.ResponseJson is null ? null : JsonSerializer.Deserialize<PaymentResponse>(payment.ResponseJson, QrJson.Options);
        return response?.ThirdPartyIdentifiers
               ?? JsonSerializer.Deserialize<PaymentRequest>(payment.RequestJson, QrJson.Options)?.ThirdPartyIdentifiers
               ?? [];
    }

    private static Amounts Amounts(Payment payment) =>
        new() { RequestAmount = new LedgerAmount { Amount = payment.Amount, Currency = payment.Currency } };

    private static Institution Partner(Payment payment) => new() { Id = payment.PartnerId, Name = payment.PartnerName ?? "" };
}

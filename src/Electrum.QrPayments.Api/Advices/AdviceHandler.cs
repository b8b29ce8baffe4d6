using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Electrum.QrPayments.Api.Payments;
using Electrum.QrPayments.Api.Persistence;
using Electrum.QrPayments.Api.Web;
using Electrum.QrPayments.Contracts.Json;
using Electrum.QrPayments.Contracts.Models;
using Microsoft.EntityFrameworkCore;

namespace Electrum.QrPayments.Api.Advices;

/// <summary>What an advice is answered with: 202 and its echo, or 404 for an unknown payment.</summary>
public sealed record AdviceAnswer(int Status, string? EchoJson);

/// <summary>
/// confirmPayment and reversePayment. Each accepted advice is recorded with its answer (so a
/// store-and-forward retry gets the same answer), and the state change and the outbox row for the
/// partner are written in the same transaction. Races (two advices, an advice and the partner's
/// answer) are settled by the payment's version token: the loser reads again and decides again.
/// </summary>
public sealed class AdviceHandler(
    QrDbContext db, Signals signals, KnownPayments known, OutboxSignal outbox, OutboxDispatcher dispatcher, TimeProvider time)
{
    private const int Attempts = 20;

    // The payment and any advice already recorded under this id, in one read (every advice makes it).
    private static readonly CompiledQuery<Func<QrDbContext, string, string, Task<PaymentAndAdvice?>>> PaymentAndAdviceQuery = new(() => EF.CompileAsyncQuery(
        (QrDbContext db, string requestId, string adviceId) => (
            from p in db.Payments
            where p.RequestId == requestId
            from a in db.Advices.Where(a => a.Id == adviceId).DefaultIfEmpty()
            select new PaymentAndAdvice(p, a)).SingleOrDefault()));

    public Task<AdviceAnswer> ConfirmAsync(PaymentConfirmation confirmation, string clientId) =>
        HandleAsync(AdviceKind.Confirmation, confirmation.Id!, confirmation.RequestId!, clientId, confirmation, (payment, now) =>
        {
            switch (payment.State)
            {
                case PaymentState.Approved:
                    payment.Confirm(now);
                    var confirmed = UpstreamAdvices.Confirmation(payment, confirmation, now);
                    db.Outbox.Add(confirmed);
                    return Change.Queued(confirmed);
                case PaymentState.Confirmed:
                    return Change.None;
                case PaymentState.Reversed or PaymentState.TimedOut:
                    throw PaymentErrors.Conflict("Payment was reversed", "a reversed payment cannot be confirmed", payment.RequestId);
                case PaymentState.Declined or PaymentState.NoScan:
                    throw PaymentErrors.Conflict("Payment was not approved", "only an approved payment can be confirmed", payment.RequestId);
                default:
                    throw PaymentErrors.Conflict("Payment still pending", "the payment has no outcome yet", payment.RequestId);
            }
        });

    public Task<AdviceAnswer> ReverseAsync(PaymentReversal reversal, string clientId) =>
        HandleAsync(AdviceKind.Reversal, reversal.Id!, reversal.RequestId!, clientId, reversal, (payment, now) =>
        {
            switch (payment.State)
            {
                case PaymentState.AwaitingScan:
                    payment.Reverse(now);
                    return Change.Made;
                case PaymentState.Forwarded when !payment.ReversalRequested:
                    payment.RequestReversal(reversal.ReversalReason!.Value, now);
                    return Change.Made;
                case PaymentState.Approved:
                    payment.Reverse(now);
                    var reversed = UpstreamAdvices.Reversal(payment, reversal.ReversalReason!.Value, reversal, now);
                    db.Outbox.Add(reversed);
                    return Change.Queued(reversed);
                case PaymentState.Confirmed:
                    throw PaymentErrors.Conflict("Payment already confirmed", "a confirmed payment cannot be reversed",
                        payment.RequestId, ErrorType.AccountAlreadySettled);
                default:
                    // Already reversed, timed out (our reversal is queued), declined or never scanned: nothing to send.
                    return Change.None;
            }
        });

    private async Task<AdviceAnswer> HandleAsync<T>(AdviceKind kind, string adviceId, string requestId, string clientId, T advice,
        Func<Payment, DateTimeOffset, Change> apply)
    {
        var echo = JsonSerializer.Serialize(advice, QrJson.Options);
        var hash = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(echo)));
        for (var attempt = 0; attempt < Attempts; attempt++)
        {
            db.ChangeTracker.Clear();
            // First from the payment as its pay just approved it here, if it was: an advice already
            // recorded under this id fails the save on its key, and a payment moved since on its
            // version; the next attempt reads both.
            var row = attempt == 0 && known.TryTakeApproved(requestId, clientId, out var approved)
                ? new PaymentAndAdvice(db.Adopt(approved), null)
                : await PaymentAndAdviceQuery.For(db)(db, requestId, adviceId);
            var payment = row?.Payment;
            // The advice alone when there is no payment (rare: an unknown or overtaken request id).
            if ((row is null ? await db.Advices.AsNoTracking().SingleOrDefaultAsync(a => a.Id == adviceId) : row.Earlier) is { } earlier)
            {
                return earlier.Kind == kind && earlier.BodyHash == hash && earlier.ClientId == clientId
                    ? Replay(earlier)
                    : throw QrException.Duplicate($"advice id {adviceId} was already used for another message");
            }

            var now = time.GetUtcNow();
            var found = payment is not null && payment.ClientId == clientId && payment.TranId is not null;
            if (!found && kind == AdviceKind.Reversal && payment is null)
            {
                // The reversal overtook its payment: remember the id so the payment is refused if it comes.
                db.Payments.Add(Payment.Tombstone(requestId, clientId, now));
            }

            var wasHeld = payment is { State: PaymentState.AwaitingScan };
            var change = found ? apply(payment!, now) : Change.None;
            var answer = new AdviceAnswer(found ? StatusCodes.Status202Accepted : StatusCodes.Status404NotFound, found ? echo : null);
            db.Advices.Add(new Advice
            {
                Id = adviceId,
                Kind = kind,
                RequestId = requestId,
                ClientId = clientId,
                BodyHash = hash,
                ResponseStatus = answer.Status,
                ResponseJson = answer.EchoJson,
                ReceivedAt = now,
            });

            // The advice for the partner goes out the moment it is committed, when a slot is free.
            using var delivery = change.Advice is { } queued ? dispatcher.TryLease(queued) : null;
            try
            {
                await db.SaveChangesAsync();
            }
            catch (DbUpdateException e) when (e is DbUpdateConcurrencyException || e.IsUniqueViolation())
            {
                // Lost a race (the same advice twice, the payment moved, or the payment was just inserted): decide again.
                continue;
            }

            if (change.Changed)
            {
                if (wasHeld)
                {
                    // Only a held pay waits on its payment: wake it, so it answers at once.
                    await signals.NotifyPaymentAsync(payment!.Id);
                }

                if (delivery is not null)
                {
                    delivery.Start();
                }
                else if (change.Advice is not null)
                {
                    outbox.Notify();
                }
            }

            return found ? answer : throw PaymentErrors.NotFound(requestId);
        }

        throw new InvalidOperationException($"advice {adviceId} lost {Attempts} races in a row");
    }

    private static AdviceAnswer Replay(Advice earlier) =>
        earlier.ResponseStatus == StatusCodes.Status404NotFound
            ? throw PaymentErrors.NotFound(earlier.RequestId)
            : new AdviceAnswer(earlier.ResponseStatus, earlier.ResponseJson);

    private sealed record PaymentAndAdvice(Payment Payment, Advice? Earlier);

    // What an advice did to its payment, and the advice it queued for the partner, if any (handed to
    // the dispatcher as it is: looking it up in the change tracker would detect changes again).
    private readonly record struct Change(bool Changed, OutboxMessage? Advice)
    {
        public static Change None => default;

        public static Change Made => new(true, null);

        public static Change Queued(OutboxMessage advice) => new(true, advice);
    }
}

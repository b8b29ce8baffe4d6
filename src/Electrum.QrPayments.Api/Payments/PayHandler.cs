using System.Text.Json;
using Electrum.QrPayments.Api.Advices;
using Electrum.QrPayments.Api.Ops;
using Electrum.QrPayments.Api.Partners;
using Electrum.QrPayments.Api.Persistence;
using Electrum.QrPayments.Api.QrCodes;
using Electrum.QrPayments.Api.Web;
using Electrum.QrPayments.Contracts.Json;
using Electrum.QrPayments.Contracts.Models;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Electrum.QrPayments.Api.Payments;

/// <summary>
/// pay: check the request against its QR code at once, hold it until the partner's scan (at most
/// ScanWait), forward it to that partner (at most PartnerTimeout), and answer with the outcome.
/// A pay spends nearly all its time waiting (for the scan, then the partner), so it takes a
/// database context from the pool only for each step that reads or writes, never across a wait:
/// thousands of held pays hold no context, and the pool's contexts serve whoever is working.
/// </summary>
public sealed class PayHandler(
    IDbContextFactory<QrDbContext> contexts, Signals signals, HeldWatcher watcher, IssuedCodes codes, KnownPayments known,
    PartnerGateway partners, OutboxSignal outbox, QrMetrics metrics, IOptions<QrPaymentsOptions> options, TimeProvider time)
{
    private const int MaxPartnerDetailLength = 4096;

    private static readonly CompiledQuery<Func<QrDbContext, string, Task<QrCode?>>> CodeByTranId = new(() => EF.CompileAsyncQuery(
        (QrDbContext db, string tranId) => db.QrCodes.AsNoTracking().SingleOrDefault(c => c.TranId == tranId)));

    private static readonly CompiledQuery<Func<QrDbContext, Guid, Task<Payment>>> PaymentById = new(() => EF.CompileAsyncQuery(
        (QrDbContext db, Guid id) => db.Payments.AsNoTracking().Single(p => p.Id == id)));

    public async Task<PaymentResponse> HandleAsync(PaymentRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var now = time.GetUtcNow();
        var amount = request.Amounts!.RequestAmount ?? throw QrException.Format("amounts.requestAmount", "required for a payment");
        if (amount.Amount <= 0)
        {
            throw PaymentErrors.InvalidAmount("amounts.requestAmount.amount", "must be greater than zero");
        }

        var (code, payment, woken) = await RecordAsync(request, amount, now);
        try
        {
            // A scan that reaches this instance matches the payment as inserted, without reading it.
            using (known.Hold(payment))
            using (var hold = QrTracing.Source.StartActivity("hold"))
            {
                payment = await HoldAsync(payment, woken);
                if (hold is { IsAllDataRequested: true })
                {
                    hold.SetTag("qr.payment.state", payment.State.ToString());
                }
            }
        }
        finally
        {
            woken.Dispose();
        }

        metrics.Hold(time.GetUtcNow() - payment.CreatedAt, payment.State);
        return payment.State switch
        {
            PaymentState.Forwarded => await ForwardAsync(payment, request, code.SingleUse),
            PaymentState.Reversed => throw PaymentErrors.ReversedWhileHeld(),
            _ => throw PaymentErrors.NoScan(),
        };
    }

    // Checks the pay against its code and inserts the payment; returns it with its signal armed.
    private async Task<(QrCode Code, Payment Payment, Signals.Armed Woken)> RecordAsync(PaymentRequest request, LedgerAmount amount, DateTimeOffset now)
    {
        await using var db = await contexts.CreateDbContextAsync();
        if (!codes.TryGet(request.TranId!, out var code))
        {
            code = await CodeByTranId.For(db)(db, request.TranId!);
            if (code is not null)
            {
                codes.Add(code);
            }
        }

        // A code issued to another client is answered exactly like an unknown one.
        if (code is null || code.ClientId != request.Client!.Id)
        {
            throw PaymentErrors.InvalidTranId("no QR code with this tranId was issued to this client");
        }

        if (code.IsExpired(now))
        {
            throw PaymentErrors.InvalidTranId("the QR code has expired");
        }

        CheckAmount(code, amount);
        var payment = Payment.Request(request.Id!, request.Client.Id!, code.TranId, amount.Amount!.Value, amount.Currency!,
            JsonSerializer.Serialize(request, QrJson.Options), now, now + options.Value.ScanWait);
        db.Payments.Add(payment);
        // Armed before the insert: whatever changes the payment from then on wakes the hold, so
        // its first wait needs no read of what was just written.
        var woken = signals.Arm(Signals.Payment(payment.Id));
        var recorded = false;
        try
        {
            await db.SaveChangesAsync();
            // An early scan waiting here wakes at once; one waiting on another instance finds the
            // payment at its watcher's next check, which saves a NOTIFY on every pay.
            signals.NotifyLocal(Signals.Tran(code.TranId), db.Snapshot(payment));
            recorded = true;
            // The context goes back to the pool; the payment, as committed, is no longer tracked.
            return (code, payment, woken);
        }
        catch (DbUpdateException e) when (e.IsUniqueViolation())
        {
            // Both indexes may be hit at once and databases report either first: a reused id decides.
            db.ChangeTracker.Clear();
            if (await db.Payments.AnyAsync(p => p.RequestId == request.Id))
            {
                throw QrException.Duplicate($"payment id {request.Id} was already used (or a reversal for it came first)");
            }

            throw PaymentErrors.InvalidTranId(code.SingleUse
                ? "the single-use QR code is already used or has a payment pending"
                : "a payment is already pending for this QR code");
        }
        finally
        {
            if (!recorded)
            {
                woken.Dispose();
            }
        }
    }

    private static void CheckAmount(QrCode code, LedgerAmount amount)
    {
        if (code.Currency is not null && code.Currency != amount.Currency)
        {
            throw PaymentErrors.InvalidAmount("amounts.requestAmount.currency", $"the QR code is for currency {code.Currency}");
        }

        if (code.Amount is { } value && amount.Amount > value && !code.OverPaymentAllowed)
        {
            throw PaymentErrors.InvalidAmount("amounts.requestAmount.amount", $"more than the QR code's {value}, and over-payment is not allowed");
        }

        if (code.Amount is { } fixedValue && amount.Amount < fixedValue && !code.PartPaymentAllowed)
        {
            throw PaymentErrors.InvalidAmount("amounts.requestAmount.amount", $"less than the QR code's {fixedValue}, and part-payment is not allowed");
        }
    }

    // Waits for the scan; returns the payment once it has left AwaitingScan (matched, reversed or expired).
    // Woken by a signal (this instance or NOTIFY) or by the watcher's shared check; otherwise at the deadline.
    // Starts from the payment as inserted, with the signal armed before the insert. The payment it
    // holds is a committed copy no context tracks.
    private async Task<Payment> HoldAsync(Payment payment, Signals.Armed armedBeforeInsert)
    {
        using var watching = watcher.WatchPayment(payment.Id);
        Signals.Armed? rearmed = null;
        object? carried = null;
        try
        {
            while (payment.State == PaymentState.AwaitingScan)
            {
                var now = time.GetUtcNow();
                var remaining = payment.HoldUntil - now;
                if (remaining <= TimeSpan.Zero)
                {
                    await using var db = await contexts.CreateDbContextAsync();
                    var expiring = db.Adopt(payment);
                    expiring.ExpireHold(now);
                    if (await TrySaveAsync(db))
                    {
                        return expiring;
                    }
                }
                else
                {
                    carried = await signals.WaitAsync(rearmed ?? armedBeforeInsert, remaining);
                }

                // Armed before the read, so a change right after it still wakes the next wait.
                rearmed?.Dispose();
                rearmed = signals.Arm(Signals.Payment(payment.Id));
                // A scan matched here hands over the payment as it committed it: nothing to read back.
                payment = carried is Payment matched && matched.Id == payment.Id ? matched : await ReloadAsync(payment.Id);
                carried = null;
            }

            return payment;
        }
        finally
        {
            rearmed?.Dispose();
        }
    }

    private async Task<PaymentResponse> ForwardAsync(Payment payment, PaymentRequest request, bool singleUseCode)
    {
        var upstream = request with
        {
            Id = payment.UpstreamRequestId,
            Time = time.GetUtcNow(),
            Partner = new Institution { Id = payment.PartnerId, Name = payment.PartnerName ?? "" },
            PartnerPaymentToken = payment.PartnerPaymentToken,
        };
        var outcome = await partners.PayAsync(payment.PartnerId!, upstream);
        var response = outcome.Class == OutcomeClass.Successful ? MapBack(outcome.Response!, request, payment) : null;
        await using var db = await contexts.CreateDbContextAsync();
        // Saved only if nothing moved the payment since the copy the hold ended with.
        payment = db.Adopt(payment);

        // Meanwhile a POS reversal may have set its flag, or recovery may have given up on us (after
        // a long stall): either changed the version, so the save fails and the payment is read
        // again; a decision already made stands and is what we answer.
        var reversalQueued = false;
        for (var attempt = 0; ; attempt++)
        {
            if (attempt > 0)
            {
                payment = db.Adopt(await PaymentById.For(db)(db, payment.Id));
            }

            if (payment.State != PaymentState.Forwarded)
            {
                break;
            }

            var now = time.GetUtcNow();
            switch (outcome.Class)
            {
                case OutcomeClass.Successful:
                    payment.Approve(JsonSerializer.Serialize(response, QrJson.Options), singleUseCode, now);
                    if (payment.ReversalRequested)
                    {
                        payment.Reverse(now);
                        db.Outbox.Add(UpstreamAdvices.Reversal(payment, payment.RequestedReversalReason ?? ReversalReason.Cancelled, null, now));
                    }

                    break;
                case OutcomeClass.Failed:
                    payment.Decline(now);
                    break;
                default:
                    payment.TimeOut(now);
                    db.Outbox.Add(UpstreamAdvices.Reversal(payment, ReversalReason.Timeout, null, now));
                    break;
            }

            if (await TrySaveAsync(db))
            {
                reversalQueued = payment.State is PaymentState.Reversed or PaymentState.TimedOut;
                if (payment.State == PaymentState.Approved)
                {
                    // Its confirmation (or reversal) starts from the payment as committed here.
                    known.Approved(db.Snapshot(payment));
                }

                break;
            }
        }

        if (reversalQueued)
        {
            outbox.Notify();
        }

        return payment.State switch
        {
            PaymentState.Approved => response!,
            PaymentState.Reversed => throw PaymentErrors.ReversedWhileHeld(),
            PaymentState.Declined => throw PartnerRefusal(outcome),
            _ => throw PaymentErrors.UpstreamUnavailable(),
        };
    }

    // The partner's answer, in the POS's terms: its own message id, client and originator.
    private PaymentResponse MapBack(PaymentResponse fromPartner, PaymentRequest request, Payment payment) => fromPartner with
    {
        Id = request.Id,
        Time = time.GetUtcNow(),
        Originator = request.Originator,
        Client = request.Client,
        TranId = request.TranId,
        Partner = fromPartner.Partner ?? new Institution { Id = payment.PartnerId, Name = payment.PartnerName ?? "" },
        PartnerPaymentToken = null,
    };

    private static QrException PartnerRefusal(PartnerOutcome outcome)
    {
        // The partner's status and error type pass through, with two exceptions: its auth failure is
        // ours, not the POS's (503), and its 404 becomes 400, since the interface counts a 404 as
        // successful in some contexts and a POS must never take a declined payment for a paid one.
        var status = outcome.Status switch
        {
            null or 401 or 403 or 407 => StatusCodes.Status503ServiceUnavailable,
            404 => StatusCodes.Status400BadRequest,
            var partnerStatus => partnerStatus.Value,
        };
        var detail = ErrorDetails.Reason("the partner declined the payment");
        detail["partnerStatus"] = outcome.Status;
        // Passed on when small: a partner's megabyte of detail is not the POS's to carry.
        if (outcome.Error?.DetailMessage is { } partnerDetail && partnerDetail.ToJsonString().Length <= MaxPartnerDetailLength)
        {
            detail["partnerDetail"] = partnerDetail.DeepClone();
        }

        return new QrException(status, outcome.Error?.ErrorType ?? ErrorType.DeclinedByPartner,
            outcome.Error?.ErrorMessage ?? "Declined by partner", detail);
    }

    private async Task<Payment> ReloadAsync(Guid paymentId)
    {
        await using var db = await contexts.CreateDbContextAsync();
        return await PaymentById.For(db)(db, paymentId);
    }

    private static async Task<bool> TrySaveAsync(QrDbContext db)
    {
        try
        {
            await db.SaveChangesAsync();
            return true;
        }
        catch (DbUpdateConcurrencyException)
        {
            return false;
        }
    }
}

using Electrum.QrPayments.Api.Persistence;
using Electrum.QrPayments.Api.QrCodes;
using Electrum.QrPayments.Api.Web;
using Electrum.QrPayments.Contracts.Models;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Electrum.QrPayments.Api.Payments;

/// <summary>
/// notifyScan: link the partner's scan to the payment held for its tranId and release it. A scan
/// that comes before its payment waits up to EarlyScanGrace for one.
/// </summary>
public sealed class ScanHandler(
    QrDbContext db, Signals signals, HeldWatcher watcher, IssuedCodes codes, KnownPayments known, IOptions<QrPaymentsOptions> options, TimeProvider time)
{
    // The code, whether this scan id was used, and the payment holding the code, in one read
    // (the unique index on active_tran_id means at most one payment holds it).
    private static readonly CompiledQuery<Func<QrDbContext, string, string, Task<FirstLook?>>> FirstLookQuery = new(() => EF.CompileAsyncQuery(
        (QrDbContext db, string tranId, string scanId) => (
            from c in db.QrCodes
            where c.TranId == tranId
            from p in db.Payments.Where(p => p.ActiveTranId == c.TranId).DefaultIfEmpty()
            select new FirstLook(c, db.Scans.Any(s => s.MessageId == scanId), p)).SingleOrDefault()));

    public async Task HandleAsync(ScanNotification scan)
    {
        ArgumentNullException.ThrowIfNull(scan);
        var now = time.GetUtcNow();
        var tranId = scan.TranId!;
        // Armed before the first read, so a pay that comes right after it still wakes the wait.
        var armed = signals.Arm(Signals.Tran(tranId));
        try
        {
            if (await TryMatchHeldHereAsync(scan, now))
            {
                return;
            }

            var first = await FirstLookQuery.For(db)(db, tranId, scan.Id!)
                ?? throw PaymentErrors.InvalidTranId("no QR code with this tranId");
            if (first.Code.IsExpired(now))
            {
                throw PaymentErrors.InvalidTranId("the QR code has expired");
            }

            if (first.Used)
            {
                throw QrException.Duplicate($"scan id {scan.Id} was already used");
            }

            var deadline = now + options.Value.EarlyScanGrace;
            using var watching = watcher.WatchTran(tranId);
            var holder = first.Holder;
            object? carried = null;
            for (var look = 0; ; look++)
            {
                if (look > 0)
                {
                    armed.Dispose();
                    armed = signals.Arm(Signals.Tran(tranId));
                    // A pay held here hands over its payment as it committed it: nothing to read back.
                    db.ChangeTracker.Clear();
                    holder = carried is Payment held && held.ActiveTranId == tranId
                        ? db.Adopt(held)
                        : await db.Payments.SingleOrDefaultAsync(p => p.ActiveTranId == tranId);
                    carried = null;
                }

                if (holder is { State: PaymentState.AwaitingScan } && holder.HoldUntil <= time.GetUtcNow())
                {
                    // Its hold is over though no process said so (its instance died): the payment gave up,
                    // so this is a late scan. End the hold, so no partner waits for a pay that never comes.
                    if (await TryExpireAsync(holder))
                    {
                        await signals.NotifyPaymentAsync(holder.Id);
                        throw PaymentErrors.NoPendingPayment();
                    }

                    continue;
                }

                if (holder is { State: PaymentState.AwaitingScan })
                {
                    if (await TryMatchAsync(holder, scan))
                    {
                        await signals.NotifyPaymentAsync(holder.Id, db.Snapshot(holder));
                        return;
                    }

                    continue;
                }

                if (holder is not null)
                {
                    throw PaymentErrors.InvalidTranId(first.Code.SingleUse && holder.State is PaymentState.Approved or PaymentState.Confirmed
                        ? "the single-use QR code has already been paid"
                        : "the QR code has already been scanned for its pending payment");
                }

                var remaining = deadline - time.GetUtcNow();
                if (remaining <= TimeSpan.Zero)
                {
                    throw PaymentErrors.NoPendingPayment();
                }

                carried = await signals.WaitAsync(armed, remaining);
            }
        }
        finally
        {
            armed.Dispose();
        }
    }

    // A pay held on this instance, matched as it was committed, with no read. Whatever the read
    // would have refused is refused the same way: a used scan id by its unique index, a payment
    // moved since by its version; a failed match (or anything unusual) leaves it to the read.
    private async Task<bool> TryMatchHeldHereAsync(ScanNotification scan, DateTimeOffset now)
    {
        if (!known.TryGetHeld(scan.TranId!, out var held) || held.State != PaymentState.AwaitingScan || held.HoldUntil <= now ||
            !codes.TryGet(scan.TranId!, out var code) || code.IsExpired(now))
        {
            return false;
        }

        var holder = db.Adopt(held);
        if (await TryMatchAsync(holder, scan))
        {
            await signals.NotifyPaymentAsync(holder.Id, db.Snapshot(holder));
            return true;
        }

        db.ChangeTracker.Clear();
        return false;
    }

    private async Task<bool> TryExpireAsync(Payment payment)
    {
        payment.ExpireHold(time.GetUtcNow());
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

    private async Task<bool> TryMatchAsync(Payment payment, ScanNotification scan)
    {
        var now = time.GetUtcNow();
        payment.MatchScan(scan.Partner!.Id!, scan.Partner.Name, scan.PartnerPaymentToken, now);
        db.Scans.Add(new Scan
        {
            Id = Guid.CreateVersion7(now),
            MessageId = scan.Id!,
            TranId = scan.TranId!,
            PartnerId = scan.Partner.Id!,
            PaymentId = payment.Id,
            ReceivedAt = now,
        });
        try
        {
            await db.SaveChangesAsync();
            return true;
        }
        catch (DbUpdateException e) when (e.IsUniqueViolation("ix_scans_message_id", "scans.message_id"))
        {
            throw QrException.Duplicate($"scan id {scan.Id} was already used");
        }
        catch (DbUpdateException e) when (e is DbUpdateConcurrencyException || e.IsUniqueViolation("ix_scans_payment_id", "scans.payment_id"))
        {
            // Another scan matched it, or its hold ended, first: look again.
            return false;
        }
    }

    private sealed record FirstLook(QrCodes.QrCode Code, bool Used, Payment? Holder);
}

using Electrum.QrPayments.Api.Web;
using Electrum.QrPayments.Contracts.Models;

namespace Electrum.QrPayments.Api.Payments;

/// <summary>The refusals of the payment operations, worded once.</summary>
public static class PaymentErrors
{
    public static QrException InvalidTranId(string reason) =>
        new(StatusCodes.Status400BadRequest, ErrorType.InvalidTranId, "Invalid tranId", ErrorDetails.FieldDetail("tranId", reason));

    public static QrException InvalidAmount(string field, string reason) =>
        new(StatusCodes.Status400BadRequest, ErrorType.InvalidAmount, "Invalid amount", ErrorDetails.FieldDetail(field, reason));

    public static QrException NoScan() =>
        new(StatusCodes.Status400BadRequest, ErrorType.NoScanReceived, "No scan received", ErrorDetails.Reason("no partner scanned the QR code in time"));

    public static QrException ReversedWhileHeld() =>
        new(StatusCodes.Status400BadRequest, ErrorType.GeneralError, "Payment reversed", ErrorDetails.Reason("a reversal for this payment arrived first"));

    public static QrException UpstreamUnavailable() =>
        new(StatusCodes.Status504GatewayTimeout, ErrorType.UpstreamUnavailable, "Partner did not answer",
            ErrorDetails.Reason("the partner's outcome is unknown; a timeout reversal has been queued to it"));

    public static QrException NoPendingPayment() =>
        new(StatusCodes.Status400BadRequest, ErrorType.UnableToLocateRecord, "No payment for this scan",
            ErrorDetails.Reason("no payment request is waiting for this tranId"));

    public static QrException NotFound(string requestId) =>
        new(StatusCodes.Status404NotFound, ErrorType.UnableToLocateRecord, "Payment not found",
            ErrorDetails.FieldDetail("requestId", "no payment with this id for this client")) { OriginalId = requestId };

    public static QrException Conflict(string errorMessage, string reason, string requestId, ErrorType type = ErrorType.GeneralError) =>
        new(StatusCodes.Status400BadRequest, type, errorMessage, ErrorDetails.Reason(reason)) { OriginalId = requestId };
}

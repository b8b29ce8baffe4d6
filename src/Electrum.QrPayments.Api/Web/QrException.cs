using System.Text.Json.Nodes;
using Electrum.QrPayments.Contracts.Models;

namespace Electrum.QrPayments.Api.Web;

/// <summary>
/// A refusal the interface defines (a status and an ErrorDetail). Handlers throw it; the one
/// exception handler turns it into the response, so no handler builds an error body itself.
/// </summary>
public sealed class QrException : Exception
{
    public QrException(int status, ErrorType errorType, string errorMessage, JsonObject? detail = null)
        : base(errorMessage)
    {
        Status = status;
        ErrorType = errorType;
        Detail = detail;
    }

    public int Status { get; }
    public ErrorType ErrorType { get; }
    public JsonObject? Detail { get; }

    /// <summary>The id of the request an advice relates to, for ErrorDetail.originalId.</summary>
    public string? OriginalId { get; init; }
    public string? TranId { get; init; }

    public static QrException Format(string field, string reason) =>
        new(StatusCodes.Status400BadRequest, ErrorType.FormatError, "Invalid message format", ErrorDetails.FieldDetail(field, reason));

    public static QrException Duplicate(string reason) =>
        new(StatusCodes.Status400BadRequest, ErrorType.DuplicateRecord, "Duplicate message id", ErrorDetails.Reason(reason));

    public static QrException Forbidden(string reason) =>
        new(StatusCodes.Status403Forbidden, ErrorType.GeneralError, "Not allowed for this caller", ErrorDetails.Reason(reason));

    public static QrException NotFound(string reason) =>
        new(StatusCodes.Status404NotFound, ErrorType.UnableToLocateRecord, "Record not found", ErrorDetails.Reason(reason));

}

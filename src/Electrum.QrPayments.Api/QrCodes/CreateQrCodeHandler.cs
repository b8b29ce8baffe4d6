using Electrum.QrPayments.Api.Persistence;
using Electrum.QrPayments.Api.Web;
using Electrum.QrPayments.Contracts.Models;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Electrum.QrPayments.Api.QrCodes;

/// <summary>createQrCode: mint a tranId, build the payload for the requested scheme, store the code.</summary>
public sealed class CreateQrCodeHandler(QrDbContext db, IssuedCodes codes, IOptions<QrPaymentsOptions> options, TimeProvider time)
{
    public async Task<CreateQrCodeResponse> HandleAsync(CreateQrCodeRequest request, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(request);
        var settings = options.Value;
        var now = time.GetUtcNow();
        var properties = request.QrProperties!;
        var scheme = properties.Scheme ?? QrScheme.ElectrumMerchantMinimal;

        if (properties.Value is { Amount: <= 0 })
        {
            throw new QrException(StatusCodes.Status400BadRequest, ErrorType.InvalidAmount, "Invalid amount",
                ErrorDetails.FieldDetail("qrProperties.value.amount", "must be greater than zero"));
        }

        if (properties.ExpiryDate is { } expiry && expiry <= now)
        {
            throw QrException.Format("qrProperties.expiryDate", "is not in the future");
        }

        var tranId = Guid.CreateVersion7(now).ToString("N");
        var currency = properties.Value?.Currency ?? request.Amounts?.RequestAmount?.Currency
            ?? (scheme == QrScheme.EmvcoMerchant ? settings.DefaultCurrency : null);
        var payload = QrPayloadBuilder.Build(new QrPayloadInput(
            scheme,
            properties.Uuid ?? settings.ProviderId,
            settings.MerchantAccountTag,
            tranId,
            request.Originator!.Merchant,
            properties.Value,
            currency,
            AmountIsFixed: properties.Value is not null && properties.OverPaymentAllowed != true && properties.PartPaymentAllowed != true));

        var code = new QrCode
        {
            Id = Guid.CreateVersion7(now),
            TranId = tranId,
            RequestId = request.Id!,
            ClientId = request.Client!.Id!,
            Scheme = scheme,
            Payload = payload,
            Amount = properties.Value?.Amount,
            // The currency the payload advertises (tag 53) is the one a pay must be in.
            Currency = scheme == QrScheme.ElectrumMerchantMinimal ? properties.Value?.Currency : currency,
            OverPaymentAllowed = properties.OverPaymentAllowed ?? false,
            PartPaymentAllowed = properties.PartPaymentAllowed ?? false,
            ExpiresAt = properties.ExpiryDate,
            SingleUse = properties.SingleUse ?? false,
            CreatedAt = now,
        };
        db.QrCodes.Add(code);

        try
        {
            // Not cancelled with the request: once we start writing, the row is written or not, whole.
            await db.SaveChangesAsync(CancellationToken.None);
        }
        catch (DbUpdateException e) when (e.IsUniqueViolation())
        {
            throw QrException.Duplicate($"createQrCode id {request.Id} was already used");
        }

        // Committed, so a pay against it here need not read it back.
        codes.Add(code);

        return new CreateQrCodeResponse
        {
            Id = request.Id,
            Time = now,
            Originator = request.Originator,
            Client = request.Client,
            ThirdPartyIdentifiers = request.ThirdPartyIdentifiers,
            Rrn = request.Rrn,
            Stan = request.Stan,
            Amounts = request.Amounts,
            Customer = request.Customer,
            QrProperties = properties with { Scheme = scheme },
            TranId = tranId,
            QrCode = payload,
        };
    }
}

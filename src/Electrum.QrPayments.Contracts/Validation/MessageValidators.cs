using Electrum.QrPayments.Contracts.Models;
using FluentValidation;

namespace Electrum.QrPayments.Contracts.Validation;

public sealed class CreateQrCodeRequestValidator : WireValidator<CreateQrCodeRequest>
{
    public CreateQrCodeRequestValidator()
    {
        RuleFor(x => x.Id).Uuid();
        RuleFor(x => x.Time).NotNull();
        RuleFor(x => x.Originator).NotNull().SetValidator(new OriginatorValidator()!);
        RuleFor(x => x.Client).NotNull().SetValidator(new InstitutionValidator()!);
        RuleForEach(x => x.ThirdPartyIdentifiers).NotNull().SetValidator(new ThirdPartyIdentifierValidator()!);
        RuleFor(x => x.Amounts).SetValidator(new AmountsValidator()!);
        RuleFor(x => x.Customer).SetValidator(new CustomerValidator()!);
        RuleFor(x => x.QrProperties).NotNull().SetValidator(new QrPropertiesValidator()!);
    }
}

public sealed class ScanNotificationValidator : WireValidator<ScanNotification>
{
    public ScanNotificationValidator()
    {
        var institution = new InstitutionValidator();
        RuleFor(x => x.Id).Uuid();
        RuleFor(x => x.Time).NotNull();
        RuleFor(x => x.Partner).NotNull().SetValidator(institution!);
        RuleFor(x => x.SettlementEntity).SetValidator(institution!);
        RuleFor(x => x.Receiver).SetValidator(institution!);
        RuleForEach(x => x.ThirdPartyIdentifiers).NotNull().SetValidator(new ThirdPartyIdentifierValidator()!);
        RuleFor(x => x.Amounts).SetValidator(new AmountsValidator()!);
        RuleFor(x => x.TranId).NotEmpty();
    }
}

public sealed class PaymentRequestValidator : WireValidator<PaymentRequest>
{
    public PaymentRequestValidator()
    {
        var institution = new InstitutionValidator();
        RuleFor(x => x.Id).Uuid();
        RuleFor(x => x.Time).NotNull();
        RuleFor(x => x.Originator).NotNull().SetValidator(new OriginatorValidator()!);
        RuleFor(x => x.Client).NotNull().SetValidator(institution!);
        RuleFor(x => x.SettlementEntity).SetValidator(institution!);
        RuleFor(x => x.Receiver).SetValidator(institution!);
        RuleFor(x => x.Partner).SetValidator(institution!);
        RuleFor(x => x.ThirdPartyIdentifiers).NotNull();
        RuleForEach(x => x.ThirdPartyIdentifiers).NotNull().SetValidator(new ThirdPartyIdentifierValidator()!);
        RuleFor(x => x.SlipData).SetValidator(new SlipDataValidator()!);
        RuleFor(x => x.Amounts).NotNull().SetValidator(new AmountsValidator()!);
        RuleFor(x => x.TranId).NotEmpty();
    }
}

public sealed class PaymentResponseValidator : WireValidator<PaymentResponse>
{
    public PaymentResponseValidator()
    {
        var institution = new InstitutionValidator();
        RuleFor(x => x.Id).NotEmpty();
        RuleFor(x => x.Time).NotNull();
        RuleFor(x => x.Originator).NotNull().SetValidator(new OriginatorValidator()!);
        RuleFor(x => x.Client).NotNull().SetValidator(institution!);
        RuleFor(x => x.SettlementEntity).SetValidator(institution!);
        RuleFor(x => x.Receiver).SetValidator(institution!);
        RuleFor(x => x.Partner).NotNull().SetValidator(institution!);
        RuleFor(x => x.ThirdPartyIdentifiers).NotNull();
        RuleForEach(x => x.ThirdPartyIdentifiers).NotNull().SetValidator(new ThirdPartyIdentifierValidator()!);
        RuleFor(x => x.SlipData).SetValidator(new SlipDataValidator()!);
        RuleForEach(x => x.Tenders).NotNull().SetValidator(new TenderValidator()!);
        RuleFor(x => x.Amounts).NotNull().SetValidator(new AmountsValidator()!);
        RuleFor(x => x.TranId).NotEmpty();
    }
}

public sealed class PaymentConfirmationValidator : WireValidator<PaymentConfirmation>
{
    public PaymentConfirmationValidator()
    {
        RuleFor(x => x.Id).Uuid();
        RuleFor(x => x.RequestId).Uuid();
        RuleFor(x => x.Time).NotNull();
        RuleFor(x => x.ThirdPartyIdentifiers).NotNull();
        RuleForEach(x => x.ThirdPartyIdentifiers).NotNull().SetValidator(new ThirdPartyIdentifierValidator()!);
        RuleFor(x => x.Amounts).SetValidator(new AmountsValidator()!);
        RuleFor(x => x.Partner).SetValidator(new InstitutionValidator()!);
    }
}

public sealed class PaymentReversalValidator : WireValidator<PaymentReversal>
{
    public PaymentReversalValidator()
    {
        RuleFor(x => x.Id).Uuid();
        RuleFor(x => x.RequestId).Uuid();
        RuleFor(x => x.Time).NotNull();
        RuleFor(x => x.ThirdPartyIdentifiers).NotNull();
        RuleForEach(x => x.ThirdPartyIdentifiers).NotNull().SetValidator(new ThirdPartyIdentifierValidator()!);
        RuleFor(x => x.Amounts).SetValidator(new AmountsValidator()!);
        RuleFor(x => x.ReversalReason).NotNull();
        RuleFor(x => x.Partner).SetValidator(new InstitutionValidator()!);
    }
}

public sealed class ErrorDetailValidator : WireValidator<ErrorDetail>
{
    public ErrorDetailValidator()
    {
        RuleFor(x => x.Id).NotEmpty();
        RuleFor(x => x.ErrorType).NotNull();
        RuleFor(x => x.ErrorMessage).NotNull().MaximumLength(40);
    }
}

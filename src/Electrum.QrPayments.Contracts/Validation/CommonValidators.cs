using Electrum.QrPayments.Contracts.Models;
using FluentValidation;

namespace Electrum.QrPayments.Contracts.Validation;

public sealed class InstitutionValidator : WireValidator<Institution>
{
    public InstitutionValidator()
    {
        RuleFor(x => x.Id).NotEmpty();
        RuleFor(x => x.Name).NotNull().MaximumLength(40);
    }
}

public sealed class MerchantNameValidator : WireValidator<MerchantName>
{
    public MerchantNameValidator()
    {
        RuleFor(x => x.Name).NotNull().MaximumLength(23);
        RuleFor(x => x.City).NotNull().MaximumLength(13);
        RuleFor(x => x.Region).NotNull().MaximumLength(2);
        RuleFor(x => x.Country).NotNull().MaximumLength(2);
    }
}

public sealed class MerchantValidator : WireValidator<Merchant>
{
    public MerchantValidator()
    {
        RuleFor(x => x.MerchantType).NotNull().Matches(WirePatterns.MerchantType);
        RuleFor(x => x.MerchantId).NotNull().Length(15);
        RuleFor(x => x.MerchantName).NotNull().SetValidator(new MerchantNameValidator()!);
    }
}

public sealed class OriginatorValidator : WireValidator<Originator>
{
    public OriginatorValidator()
    {
        RuleFor(x => x.Institution).NotNull().SetValidator(new InstitutionValidator()!);
        RuleFor(x => x.TerminalId).NotNull().Length(8);
        RuleFor(x => x.Merchant).NotNull().SetValidator(new MerchantValidator()!);
        RuleFor(x => x.OperatorId).MaximumLength(30);
    }
}

public sealed class LedgerAmountValidator : WireValidator<LedgerAmount>
{
    public LedgerAmountValidator()
    {
        RuleFor(x => x.Amount).NotNull();
        RuleFor(x => x.Currency).NotNull().Matches(WirePatterns.Currency);
    }
}

public sealed class AmountsValidator : WireValidator<Amounts>
{
    public AmountsValidator()
    {
        var amount = new LedgerAmountValidator();
        RuleFor(x => x.RequestAmount).SetValidator(amount!);
        RuleFor(x => x.ApprovedAmount).SetValidator(amount!);
        RuleFor(x => x.FeeAmount).SetValidator(amount!);
        RuleFor(x => x.BalanceAmount).SetValidator(amount!);
        RuleForEach(x => x.AdditionalAmounts)
            .Must(pair => pair.Value is not null).WithMessage("must be a LedgerAmount")
            .ChildRules(pair => pair.RuleFor(p => p.Value).SetValidator(amount!).OverridePropertyName(""));
    }
}

public sealed class ThirdPartyIdentifierValidator : WireValidator<ThirdPartyIdentifier>
{
    public ThirdPartyIdentifierValidator()
    {
        RuleFor(x => x.InstitutionId).NotEmpty();
        RuleFor(x => x.TransactionIdentifier).NotEmpty();
    }
}

public sealed class BarcodeValidator : WireValidator<Barcode>
{
    public BarcodeValidator()
    {
        RuleFor(x => x.Data).NotNull();
        RuleFor(x => x.Encoding).NotNull();
    }
}

public sealed class SlipLineValidator : WireValidator<SlipLine>
{
    public SlipLineValidator()
    {
        RuleFor(x => x.Text).NotNull();
        RuleFor(x => x.Barcode).SetValidator(new BarcodeValidator()!);
    }
}

public sealed class SlipDataValidator : WireValidator<SlipData>
{
    public SlipDataValidator()
    {
        RuleForEach(x => x.MessageLines).NotNull().SetValidator(new SlipLineValidator()!);
        RuleFor(x => x.SlipWidth).GreaterThan(0);
        RuleFor(x => x.IssuerReference).Matches(WirePatterns.IssuerReference);
    }
}

public sealed class TenderValidator : WireValidator<Tender>
{
    public TenderValidator()
    {
        RuleFor(x => x.Amount).NotNull().SetValidator(new LedgerAmountValidator()!);
        RuleFor(x => x.TenderType).NotNull();
        RuleFor(x => x.CardNumber).Matches(WirePatterns.CardNumber);
        RuleFor(x => x.Reference).MaximumLength(40);
    }
}

public sealed class AddressValidator : WireValidator<Address>
{
    public AddressValidator()
    {
        RuleFor(x => x.AddressLine1).Matches(WirePatterns.AddressLine);
        RuleFor(x => x.AddressLine2).Matches(WirePatterns.AddressLine);
        RuleFor(x => x.City).Matches(WirePatterns.City);
        RuleFor(x => x.Region).Matches(WirePatterns.CountryOrRegion);
        RuleFor(x => x.Country).Matches(WirePatterns.CountryOrRegion);
        RuleFor(x => x.PostalCode).Matches(WirePatterns.PostalCode);
    }
}

public sealed class CustomerValidator : WireValidator<Customer>
{
    public CustomerValidator()
    {
        RuleFor(x => x.FirstName).MaximumLength(40);
        RuleFor(x => x.LastName).MaximumLength(40);
        RuleFor(x => x.Address).MaximumLength(80);
        RuleFor(x => x.Msisdn).Matches(WirePatterns.Msisdn);
        RuleFor(x => x.EmailAddress).EmailAddress();
        RuleFor(x => x.AddressDetails).SetValidator(new AddressValidator()!);
    }
}

public sealed class QrPropertiesValidator : WireValidator<QrProperties>
{
    public QrPropertiesValidator()
    {
        RuleFor(x => x.Uuid).NotEmpty().When(x => x.Uuid is not null);
        RuleFor(x => x.Value).SetValidator(new LedgerAmountValidator()!);
    }
}

using System.Text.Json;
using FluentValidation;

namespace Electrum.QrPayments.Contracts.Validation;

/// <summary>
/// Base of every wire-model validator: reports failures under the JSON path the client sent
/// (e.g. <c>originator.merchant.merchantId</c>), not the C# property name.
/// </summary>
public abstract class WireValidator<T> : AbstractValidator<T>
{
    protected WireValidator()
    {
        WirePatterns.EnsureJsonPropertyNames();
    }
}

/// <summary>The interface's patterns, anchored: the swagger writes them unanchored, but each
/// describes a whole value (a 4-digit category code, a 3-digit currency), so we match it whole.</summary>
public static class WirePatterns
{
    public const string Uuid = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$";
    public const string Currency = "^[0-9]{3}$";
    public const string MerchantType = "^[0-9]{4}$";
    public const string Msisdn = @"^\+?[1-9]\d{0,14}$";
    public const string AddressLine = "^.{1,100}$";
    public const string City = "^.{1,30}$";
    public const string CountryOrRegion = "^[A-Z]{2}$";
    public const string PostalCode = "^[A-Za-z0-9 -]{1,20}$";
    public const string IssuerReference = "^[A-Z0-9]{1,40}$";
    public const string CardNumber = "^[0-9]{6}[0-9*]{0,13}$";

    private static int configured;

    internal static void EnsureJsonPropertyNames()
    {
        if (Interlocked.Exchange(ref configured, 1) == 0)
        {
            ValidatorOptions.Global.PropertyNameResolver = (_, member, _) =>
                member is null ? null : JsonNamingPolicy.CamelCase.ConvertName(member.Name);
            ValidatorOptions.Global.DisplayNameResolver = (_, member, _) =>
                member is null ? null : JsonNamingPolicy.CamelCase.ConvertName(member.Name);
        }
    }
}

internal static class RuleExtensions
{
    public static IRuleBuilderOptions<T, string?> Uuid<T>(this IRuleBuilder<T, string?> rule) =>
        rule.NotEmpty().Matches(WirePatterns.Uuid).WithMessage("must be a UUID");
}

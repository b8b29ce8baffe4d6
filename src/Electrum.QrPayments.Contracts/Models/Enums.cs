namespace Electrum.QrPayments.Contracts.Models;

// Members are PascalCase; QrJson serializes them as the interface's UPPER_SNAKE_CASE names.

public enum ErrorType
{
    DuplicateRecord,
    FormatError,
    FunctionNotSupported,
    GeneralError,
    InvalidAmount,
    RoutingError,
    TransactionNotSupported,
    UnableToLocateRecord,
    UpstreamUnavailable,
    AccountAlreadySettled,
    InvalidMerchant,
    DoNotHonor,
    DeclinedByPartner,
    DeclinedByAcquirer,
    DeclinedByIssuer,
    InsufficientFunds,
    InvalidCardNumber,
    CardExpired,
    InvalidTranId,
    PartnerUnknown,
    NoScanReceived,
    InvalidAccount,
}

public enum LedgerIndicator
{
    Debit,
    Credit,
}

public enum QrScheme
{
    EmvcoMerchant,
    PseudoEmvcoMerchant,
    ElectrumMerchantMinimal,
}

public enum ReversalReason
{
    Timeout,
    Cancelled,
    ResponseNotFinal,
}

public enum TranType
{
    GoodsAndServices,
    CashWithdrawal,
    DebitAdjustment,
    GoodsAndServicesWithCashBack,
    NonCash,
    Returns,
    Deposit,
    CreditAdjustment,
    GeneralCredit,
    AvailableFundsInquiry,
    BalanceInquiry,
    GeneralInquiry,
    CardVerificationInquiry,
    CardholderAccountsTransfer,
    GeneralTransfer,
    PaymentFromAccount,
    GeneralPayment,
    PaymentToAccount,
    PaymentFromAccountToAccount,
    PlaceHoldOnCard,
    GeneralAdmin,
    ChangePin,
    CardHolderInquiry,
    PointsInquiry,
}

/// <summary>Source/destination account type of a payment.</summary>
public enum AccountType
{
    Default,
    Savings,
    Cheque,
    Credit,
    Universal,
    ElectronicPurse,
    GiftCard,
    StoredValue,
}

/// <summary>Account type of a tender (the interface omits GIFT_CARD here).</summary>
public enum TenderAccountType
{
    Default,
    Savings,
    Cheque,
    Credit,
    Universal,
    ElectronicPurse,
    StoredValue,
}

public enum TenderType
{
    Cash,
    Cheque,
    CreditCard,
    DebitCard,
    Wallet,
    Rounding,
    GiftCard,
    LoyaltyCard,
    Other,
}

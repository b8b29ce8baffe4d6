namespace Electrum.QrPayments.Contracts.Models;

/// <summary>A request or advice of the interface: every one carries its own message id.</summary>
public interface IWireMessage
{
    string? Id { get; }
}

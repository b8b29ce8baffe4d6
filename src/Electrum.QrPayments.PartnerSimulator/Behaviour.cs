using System.Collections.Concurrent;
using System.Text.Json;
using Electrum.QrPayments.Contracts.Models;

namespace Electrum.QrPayments.PartnerSimulator;

/// <summary>What the simulator does with a call.</summary>
public enum SimAction
{
    /// <summary>201 PaymentResponse for pay, 202 echo for advices.</summary>
    Approve,
    /// <summary>A failed outcome: Status (default 400) with an ErrorDetail of ErrorType.</summary>
    Decline,
    /// <summary>500 with an ErrorDetail (an unknown outcome).</summary>
    Error,
    /// <summary>Close the connection without answering.</summary>
    Drop,
}

/// <summary>A rule: an action, an optional delay first, and optionally for the next N calls only.</summary>
public sealed record Behaviour
{
    public SimAction Action { get; init; } = SimAction.Approve;
    public int? Status { get; init; }
    public ErrorType? ErrorType { get; init; }
    public int DelayMs { get; init; }
    /// <summary>Apply to this many calls, then fall back to the next rule (null: always).</summary>
    public int? Times { get; init; }
}

/// <summary>One message the simulator received.</summary>
public sealed record Received(string Operation, DateTimeOffset At, JsonElement Body);

/// <summary>The simulator's rules and its record of received messages; safe for concurrent calls.</summary>
public sealed class SimulatorState
{
    public const string Pay = "pay";
    public const string Confirm = "confirmPayment";
    public const string Reverse = "reversePayment";

    private readonly ConcurrentDictionary<string, Rule> rules = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<Received> received = new();

    public IReadOnlyCollection<Received> ReceivedMessages => received;

    public void Record(string operation, JsonElement body) => received.Enqueue(new Received(operation, DateTimeOffset.UtcNow, body.Clone()));

    public void ClearReceived() => received.Clear();

    /// <summary>Sets the rule for an operation (null: all), for one tranId (null: all).</summary>
    public void Set(string? operation, string? tranId, Behaviour behaviour) =>
        rules[Key(operation, tranId)] = new Rule(behaviour);

    public void Reset() => rules.Clear();

    /// <summary>The most specific rule that still applies: operation+tranId, tranId, operation, everything.</summary>
    public Behaviour Decide(string operation, string? tranId)
    {
        string[] keys = tranId is null
            ? [Key(operation, null), Key(null, null)]
            : [Key(operation, tranId), Key(null, tranId), Key(operation, null), Key(null, null)];
        foreach (var key in keys)
        {
            if (rules.TryGetValue(key, out var rule) && rule.TryTake() is { } behaviour)
            {
                return behaviour;
            }
        }

        return new Behaviour();
    }

    private static string Key(string? operation, string? tranId) => $"{operation ?? "*"}:{tranId ?? "*"}";

    private sealed class Rule(Behaviour behaviour)
    {
        private int remaining = behaviour.Times ?? -1;

        public Behaviour? TryTake()
        {
            if (behaviour.Times is null)
            {
                return behaviour;
            }

            return Interlocked.Decrement(ref remaining) >= 0 ? behaviour : null;
        }
    }
}

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
    /// <summary>Status with Body exactly as given (empty when none): answers a real partner stack may give.</summary>
    Respond,
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
    /// <summary>Apply to this share of calls (0 to 1), chosen at random; the others fall back (null: all).</summary>
    public double? Rate { get; init; }
    /// <summary>Statuses used in turn, one per call, instead of Status (e.g. [503, 500]).</summary>
    public IReadOnlyList<int>? Statuses { get; init; }
    /// <summary>The raw body for Respond.</summary>
    public string? Body { get; init; }
}

/// <summary>One message the simulator received, and the status it answered (0: it dropped the connection).</summary>
public sealed record Received(string Operation, DateTimeOffset At, JsonElement Body, int Status)
{
    /// <summary>The simulator took the message (answered 2xx): for an advice, it has arrived.</summary>
    public bool Accepted => Status is >= 200 and < 300;
}

/// <summary>The simulator's rules and its record of received messages; safe for concurrent calls.</summary>
public sealed class SimulatorState
{
    public const string Pay = "pay";
    public const string Confirm = "confirmPayment";
    public const string Reverse = "reversePayment";

    private readonly ConcurrentDictionary<string, Rule> rules = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<Received> received = new();

    public IReadOnlyCollection<Received> ReceivedMessages => received;

    public void Record(string operation, JsonElement body, int status) =>
        received.Enqueue(new Received(operation, DateTimeOffset.UtcNow, body.Clone(), status));

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
        private int turn = -1;

        public Behaviour? TryTake()
        {
            if (behaviour.Rate is { } rate && Random.Shared.NextDouble() >= rate)
            {
                return null;
            }

            if (behaviour.Times is not null && Interlocked.Decrement(ref remaining) < 0)
            {
                return null;
            }

            return behaviour.Statuses is { Count: > 0 } statuses
                ? behaviour with { Status = statuses[(int)((uint)Interlocked.Increment(ref turn) % (uint)statuses.Count)] }
                : behaviour;
        }
    }
}

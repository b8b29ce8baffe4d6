namespace Electrum.QrPayments.Api.Advices;

/// <summary>The <c>QrPayments:Outbox</c> section: how advices are retried.</summary>
public sealed class OutboxOptions
{
    public const string Section = "QrPayments:Outbox";

    /// <summary>How often the dispatcher looks for due items when nothing wakes it.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>The first retry delay; it doubles each attempt.</summary>
    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>The longest delay between attempts (retries go on until an operator intervenes).</summary>
    public TimeSpan RetryMaxDelay { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// How many deliveries run at most, all partners together (one per payment at a time): calls in
    /// flight and answers still being recorded.
    /// </summary>
    public int BatchSize { get; set; } = 64;

    /// <summary>
    /// How many calls are in flight at most to one partner, so a slow one cannot take every slot. A
    /// slot frees when the partner answers, not when its answer is recorded.
    /// </summary>
    public int PartnerConcurrency { get; set; } = 16;
}

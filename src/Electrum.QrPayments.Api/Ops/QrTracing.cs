using System.Diagnostics;

namespace Electrum.QrPayments.Api.Ops;

/// <summary>
/// The service's spans (ActivitySource <see cref="SourceName"/>): one per operation, and under it
/// the hold, each partner call and each advice delivery. Tags name operations, partners, states and
/// error types; never a message id, token, amount or credential.
/// </summary>
public static class QrTracing
{
    public const string SourceName = "Electrum.QrPayments";

    public const string AspNetCoreSource = "Microsoft.AspNetCore";
    public const string HttpClientSource = "System.Net.Http";

    public static readonly ActivitySource Source = new(SourceName);

    private static readonly Lazy<ActivityListener> Propagation = new(() =>
    {
        // Spans exist even with no exporter, at the cost of ids only, so a partner always gets a
        // traceparent and every log line a TraceId; an exporter, when configured, records them in full.
        var listener = new ActivityListener
        {
            // HttpClient's own span is the one whose id goes to the partner in traceparent.
            ShouldListenTo = source => source.Name is SourceName or AspNetCoreSource or HttpClientSource,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.PropagationData,
        };
        ActivitySource.AddActivityListener(listener);
        return listener;
    });

    /// <summary>Makes sure spans are created (once per process).</summary>
    public static void EnsurePropagation() => _ = Propagation.Value;

    /// <summary>Marks a span failed, with a short reason (never a message body).</summary>
    public static void Fail(Activity? activity, string reason) => activity?.SetStatus(ActivityStatusCode.Error, reason);
}

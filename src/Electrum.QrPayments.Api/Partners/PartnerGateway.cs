using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Electrum.QrPayments.Api.Advices;
using Electrum.QrPayments.Api.Ops;
using Electrum.QrPayments.Contracts.Client;
using Electrum.QrPayments.Contracts.Json;
using Electrum.QrPayments.Contracts.Models;
using FluentValidation;
using Microsoft.Extensions.Options;
using Polly;
using Polly.Timeout;

namespace Electrum.QrPayments.Api.Partners;

/// <summary>What a partner call came to, classified as the interface's outcome table says.</summary>
public sealed record PartnerOutcome(OutcomeClass Class, int? Status, PaymentResponse? Response, ErrorDetail? Error, string? Failure);

/// <summary>
/// Calls partners (pay, and the advices the outbox delivers) through the Contracts client, each
/// call bounded by PartnerTimeout, each answer classified by <see cref="PartnerAnswers"/>; the
/// caller decides what an unknown outcome costs.
/// </summary>
public sealed partial class PartnerGateway
{
    public const string HttpClientName = "partners";

    /// <summary>The largest partner answer read; a larger body is left unread and the status alone decides (as for no body).</summary>
    public const int MaxAnswerBytes = 4 * 1024 * 1024;

    private readonly IHttpClientFactory httpClients;
    private readonly Dictionary<string, PartnerOptions> partners;
    private readonly ResiliencePipeline timeout;
    private readonly IValidator<PaymentResponse> responses;
    private readonly ILogger<PartnerGateway> logger;
    private readonly QrMetrics metrics;

    public PartnerGateway(IHttpClientFactory httpClients, IOptions<QrPaymentsOptions> options, TimeProvider time,
        IValidator<PaymentResponse> responses, QrMetrics metrics, ILogger<PartnerGateway> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        this.httpClients = httpClients;
        this.metrics = metrics;
        this.responses = responses;
        this.logger = logger;
        partners = options.Value.Partners.ToDictionary(p => p.Id, StringComparer.Ordinal);
        timeout = new ResiliencePipelineBuilder { TimeProvider = time }.AddTimeout(options.Value.PartnerTimeout).Build();
    }

    public bool IsConfigured(string partnerId) => partners.ContainsKey(partnerId);

    public Task<PartnerOutcome> PayAsync(string partnerId, PaymentRequest request) =>
        CallAsync(partnerId, "pay", request.Id!, isAdvice: false, CancellationToken.None, async (client, ct) =>
        {
            var response = await client.PayAsync(request, ct);
            var status = (int)response.Status;
            var body = response.Body is { } b && responses.Validate(b).IsValid ? b : null;
            var outcome = PartnerAnswers.ClassifyPay(status, body is not null, IsErrorDetail(response.Error));
            var failure = outcome == OutcomeClass.Unknown && response.IsSuccessStatus ? $"{status} without a valid PaymentResponse" : null;
            return new PartnerOutcome(outcome, status, body, response.Error, failure);
        });

    /// <summary>Delivers one advice; <paramref name="cancel"/> fires at shutdown, and the delivery then counts as unknown.</summary>
    public Task<PartnerOutcome> SendAdviceAsync(string partnerId, AdviceKind kind, string messageId, string body, CancellationToken cancel) =>
        CallAsync(partnerId, kind == AdviceKind.Confirmation ? "confirmPayment" : "reversePayment", messageId, isAdvice: true, cancel, async (client, ct) =>
        {
            QrResponse response = kind == AdviceKind.Confirmation
                ? await client.ConfirmPaymentAsync(JsonSerializer.Deserialize<PaymentConfirmation>(body, QrJson.Options)!, ct)
                : await client.ReversePaymentAsync(JsonSerializer.Deserialize<PaymentReversal>(body, QrJson.Options)!, ct);
            var status = (int)response.Status;
            return new PartnerOutcome(PartnerAnswers.ClassifyAdvice(status, IsErrorDetail(response.Error)), status, null, response.Error, null);
        });

    // An ErrorDetail we can act on names its errorType; anything else is a body we cannot read.
    private static bool IsErrorDetail(ErrorDetail? error) => error?.ErrorType is not null;

    private async Task<PartnerOutcome> CallAsync(string partnerId, string operation, string messageId, bool isAdvice, CancellationToken cancel,
        Func<QrPaymentsClient, CancellationToken, Task<PartnerOutcome>> call)
    {
        if (!partners.TryGetValue(partnerId, out var partner) || partner.BaseUrl is null)
        {
            return new PartnerOutcome(isAdvice ? OutcomeClass.Unknown : OutcomeClass.Failed, null, null, null, "partner not configured");
        }

        var client = new QrPaymentsClient(httpClients.CreateClient(HttpClientName), partner.BaseUrl,
            new NetworkCredential(partner.Username, partner.Password));
        PartnerOutcome outcome;
        var started = Stopwatch.GetTimestamp();
        // The partner call's span: HttpClient sends its traceparent to the partner.
        using var span = QrTracing.Source.StartActivity(SpanName(operation), ActivityKind.Client);
        try
        {
            // A pay is never cancelled by the POS going away: once asked, the partner's answer is recorded.
            outcome = await timeout.ExecuteAsync(async ct => await call(client, ct), cancel);
        }
        catch (TimeoutRejectedException)
        {
            outcome = new PartnerOutcome(OutcomeClass.Unknown, null, null, null, "timed out");
        }
        catch (Exception e) when (e is HttpRequestException or IOException or OperationCanceledException or JsonException)
        {
            outcome = new PartnerOutcome(OutcomeClass.Unknown, null, null, null, e.GetType().Name);
        }
        catch (Exception e)
        {
            // Whatever else goes wrong, the partner may have acted: unknown, so a pay gets its
            // timeout reversal and an advice its backoff, never a 500 or a silent resend loop.
            LogCallFailed(logger, e, operation, partnerId, messageId);
            outcome = new PartnerOutcome(OutcomeClass.Unknown, null, null, null, e.GetType().Name);
        }

        metrics.PartnerCall(partnerId, operation, outcome.Class.ToString(), Stopwatch.GetElapsedTime(started));
        if (span is { IsAllDataRequested: true })
        {
            span.SetTag("qr.partner", partnerId);
            span.SetTag("qr.operation", operation);
            span.SetTag("qr.outcome", outcome.Class.ToString());
            span.SetTag("http.response.status_code", outcome.Status);
            if (outcome.Class == OutcomeClass.Unknown)
            {
                QrTracing.Fail(span, outcome.Failure ?? "outcome unknown");
            }
        }
        LogCall(logger, operation, partnerId, messageId, outcome.Status?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "none", outcome.Class);
        return outcome;
    }

    private static string SpanName(string operation) => operation switch
    {
        "pay" => "partner pay",
        "confirmPayment" => "partner confirmPayment",
        "reversePayment" => "partner reversePayment",
        _ => "partner call",
    };

    [LoggerMessage(Level = LogLevel.Error, Message = "Partner {PartnerId} {Operation} for message {MessageId} failed unexpectedly; outcome unknown")]
    private static partial void LogCallFailed(ILogger logger, Exception exception, string operation, string partnerId, string messageId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Partner {PartnerId} {Operation} for message {MessageId}: status {Status}, outcome {Outcome}")]
    private static partial void LogCall(ILogger logger, string operation, string partnerId, string messageId, string status, OutcomeClass outcome);
}

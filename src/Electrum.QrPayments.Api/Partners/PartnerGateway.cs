using System.Net;
using System.Text.Json;
using Electrum.QrPayments.Api.Advices;
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
/// call bounded by PartnerTimeout. A timeout, a connection failure, a 500/504, or a 201 without a
/// readable PaymentResponse is an unknown outcome; the caller decides what that costs.
/// </summary>
public sealed partial class PartnerGateway
{
    public const string HttpClientName = "partners";

    private readonly IHttpClientFactory httpClients;
    private readonly Dictionary<string, PartnerOptions> partners;
    private readonly ResiliencePipeline timeout;
    private readonly IValidator<PaymentResponse> responses;
    private readonly ILogger<PartnerGateway> logger;

    public PartnerGateway(IHttpClientFactory httpClients, IOptions<QrPaymentsOptions> options, TimeProvider time,
        IValidator<PaymentResponse> responses, ILogger<PartnerGateway> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        this.httpClients = httpClients;
        this.responses = responses;
        this.logger = logger;
        partners = options.Value.Partners.ToDictionary(p => p.Id, StringComparer.Ordinal);
        timeout = new ResiliencePipelineBuilder { TimeProvider = time }.AddTimeout(options.Value.PartnerTimeout).Build();
    }

    public bool IsConfigured(string partnerId) => partners.ContainsKey(partnerId);

    public Task<PartnerOutcome> PayAsync(string partnerId, PaymentRequest request) =>
        CallAsync(partnerId, "pay", request.Id!, isAdvice: false, async (client, ct) =>
        {
            var response = await client.PayAsync(request, ct);
            var body = response.Body;
            if (response.Status == HttpStatusCode.Created && (body is null || !responses.Validate(body).IsValid))
            {
                return new PartnerOutcome(OutcomeClass.Unknown, 201, null, null, "201 without a valid PaymentResponse");
            }

            return new PartnerOutcome(Outcomes.Classify((int)response.Status, isAdvice: false), (int)response.Status, body, response.Error, null);
        });

    public Task<PartnerOutcome> SendAdviceAsync(string partnerId, AdviceKind kind, string messageId, string body) =>
        CallAsync(partnerId, kind == AdviceKind.Confirmation ? "confirmPayment" : "reversePayment", messageId, isAdvice: true, async (client, ct) =>
        {
            QrResponse response = kind == AdviceKind.Confirmation
                ? await client.ConfirmPaymentAsync(JsonSerializer.Deserialize<PaymentConfirmation>(body, QrJson.Options)!, ct)
                : await client.ReversePaymentAsync(JsonSerializer.Deserialize<PaymentReversal>(body, QrJson.Options)!, ct);
            return new PartnerOutcome(Outcomes.Classify((int)response.Status, isAdvice: true), (int)response.Status, null, response.Error, null);
        });

    private async Task<PartnerOutcome> CallAsync(string partnerId, string operation, string messageId, bool isAdvice,
        Func<QrPaymentsClient, CancellationToken, Task<PartnerOutcome>> call)
    {
        if (!partners.TryGetValue(partnerId, out var partner) || partner.BaseUrl is null)
        {
            return new PartnerOutcome(isAdvice ? OutcomeClass.Unknown : OutcomeClass.Failed, null, null, null, "partner not configured");
        }

        var client = new QrPaymentsClient(httpClients.CreateClient(HttpClientName), partner.BaseUrl,
            new NetworkCredential(partner.Username, partner.Password));
        PartnerOutcome outcome;
        try
        {
            // Never cancelled by the caller going away: once asked, the partner's answer is recorded.
            outcome = await timeout.ExecuteAsync(async ct => await call(client, ct), CancellationToken.None);
        }
        catch (TimeoutRejectedException)
        {
            outcome = new PartnerOutcome(OutcomeClass.Unknown, null, null, null, "timed out");
        }
        catch (Exception e) when (e is HttpRequestException or IOException or TaskCanceledException or JsonException)
        {
            outcome = new PartnerOutcome(OutcomeClass.Unknown, null, null, null, e.GetType().Name);
        }

        LogCall(logger, operation, partnerId, messageId, outcome.Status?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "none", outcome.Class);
        return outcome;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Partner {PartnerId} {Operation} for message {MessageId}: status {Status}, outcome {Outcome}")]
    private static partial void LogCall(ILogger logger, string operation, string partnerId, string messageId, string status, OutcomeClass outcome);
}

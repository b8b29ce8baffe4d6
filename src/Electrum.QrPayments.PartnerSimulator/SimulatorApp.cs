using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Electrum.QrPayments.Contracts.Client;
using Electrum.QrPayments.Contracts.Json;
using Electrum.QrPayments.Contracts.Models;
using Microsoft.AspNetCore.Http.Json;

namespace Electrum.QrPayments.PartnerSimulator;

/// <summary>
/// A partner for the service to talk to: serves pay / confirmPayment / reversePayment under
/// /qr/v1 as scripted, records everything it receives, and posts scans to the service.
/// Control endpoints live under /sim. Every endpoint takes the configured Basic credentials.
/// </summary>
public static class SimulatorApp
{
    public static WebApplication Build(SimulatorOptions options, string[]? args = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        var builder = WebApplication.CreateSlimBuilder(args ?? []);
        builder.WebHost.UseUrls(options.Urls);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Services.Configure<JsonOptions>(o => QrJson.Configure(o.SerializerOptions));
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton<SimulatorState>();
        builder.Services.AddHttpClient();

        var app = builder.Build();
        var expected = QrPaymentsClient.BasicAuthorization(options.Username, options.Password).ToString();
        app.Use(async (context, next) =>
        {
            if (context.Request.Headers.Authorization.ToString() != expected)
            {
                context.Response.StatusCode = StatusCodes.Status401Unauthorized;
                context.Response.Headers.WWWAuthenticate = "Basic realm=\"partner simulator\"";
                return;
            }

            await next(context);
        });

        var qr = app.MapGroup("/qr/v1");
        qr.MapPost("/payments", (HttpContext c, SimulatorState s) => Serve(c, s, SimulatorState.Pay, options));
        qr.MapPost("/payments/confirmations", (HttpContext c, SimulatorState s) => Serve(c, s, SimulatorState.Confirm, options));
        qr.MapPost("/payments/reversals", (HttpContext c, SimulatorState s) => Serve(c, s, SimulatorState.Reverse, options));

        var sim = app.MapGroup("/sim");
        sim.MapGet("/received", (SimulatorState s, string? operation) =>
            s.ReceivedMessages.Where(r => operation is null || r.Operation == operation).ToList());
        sim.MapDelete("/received", (SimulatorState s) =>
        {
            s.ClearReceived();
            return Results.NoContent();
        });
        sim.MapPut("/behaviour", (SimulatorState s, Behaviour behaviour, string? operation, string? tranId) =>
        {
            s.Set(operation, tranId, behaviour);
            return Results.NoContent();
        });
        sim.MapDelete("/behaviour", (SimulatorState s) =>
        {
            s.Reset();
            return Results.NoContent();
        });
        sim.MapPost("/scans", async (ScanCommand command, IHttpClientFactory http) =>
        {
            var response = await Scanner(http.CreateClient(), options).NotifyScanAsync(Scan(options, command.TranId, command.PartnerPaymentToken));
            return Results.Ok(new { status = (int)response.Status, error = response.Error });
        });
        return app;
    }

    /// <summary>A ScanNotification from this partner for a tranId.</summary>
    public static ScanNotification Scan(SimulatorOptions options, string tranId, string? partnerPaymentToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        return new ScanNotification
        {
            Id = Guid.NewGuid().ToString(),
            Time = DateTimeOffset.UtcNow,
            Partner = new Institution { Id = options.PartnerId, Name = options.PartnerName },
            TranId = tranId,
            PartnerPaymentToken = partnerPaymentToken,
        };
    }

    /// <summary>A client for the service, authenticated as this partner.</summary>
    public static QrPaymentsClient Scanner(HttpClient http, SimulatorOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return new QrPaymentsClient(http, options.ServiceBaseUrl, new NetworkCredential(options.PartnerId, options.ServicePassword));
    }

    private static async Task Serve(HttpContext context, SimulatorState state, string operation, SimulatorOptions options)
    {
        JsonDocument document;
        try
        {
            document = await JsonDocument.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted);
        }
        catch (JsonException)
        {
            await Write(context, StatusCodes.Status400BadRequest, FormatError("body is not JSON"));
            return;
        }

        using var owned = document;
        var body = document.RootElement;
        // A partner refuses what it cannot read with an ErrorDetail, as the interface asks; never a 500.
        if (body.ValueKind != JsonValueKind.Object)
        {
            await Write(context, StatusCodes.Status400BadRequest, FormatError("body is not a JSON object"));
            return;
        }

        PaymentRequest? request = null;
        try
        {
            request = operation == SimulatorState.Pay ? body.Deserialize<PaymentRequest>(QrJson.Options) : null;
        }
        catch (JsonException e)
        {
            await Write(context, StatusCodes.Status400BadRequest, FormatError(e.Path ?? "body"));
            return;
        }

        var tranId = body.TryGetProperty("tranId", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString() : null;
        var behaviour = state.Decide(operation, tranId);
        state.Record(operation, body, behaviour.Action switch
        {
            SimAction.Drop => 0,
            SimAction.Error => behaviour.Status ?? 500,
            SimAction.Decline => behaviour.Status ?? 400,
            SimAction.Respond => behaviour.Status ?? 200,
            _ => operation == SimulatorState.Pay ? StatusCodes.Status201Created : StatusCodes.Status202Accepted,
        });
        if (behaviour.DelayMs > 0)
        {
            await Task.Delay(behaviour.DelayMs, context.RequestAborted);
        }

        switch (behaviour.Action)
        {
            case SimAction.Drop:
                context.Abort();
                return;
            case SimAction.Error:
                await Write(context, behaviour.Status ?? 500, Error(body, behaviour.ErrorType ?? ErrorType.GeneralError, "Simulated failure"));
                return;
            case SimAction.Respond:
                context.Response.StatusCode = behaviour.Status ?? 200;
                if (!string.IsNullOrEmpty(behaviour.Body))
                {
                    context.Response.ContentType = "application/json";
                    await context.Response.Body.WriteAsync(Encoding.UTF8.GetBytes(behaviour.Body));
                }

                return;
            case SimAction.Decline:
                await Write(context, behaviour.Status ?? 400, Error(body, behaviour.ErrorType ?? ErrorType.DeclinedByPartner, "Declined by simulator"));
                return;
        }

        if (request is null)
        {
            await Write(context, StatusCodes.Status202Accepted, body);
            return;
        }

        var reference = Guid.NewGuid().ToString("N")[..12].ToUpperInvariant();
        var response = new PaymentResponse
        {
            Id = request.Id,
            Time = DateTimeOffset.UtcNow,
            Originator = request.Originator,
            Client = request.Client,
            ThirdPartyIdentifiers = [.. request.ThirdPartyIdentifiers ?? [], new ThirdPartyIdentifier { InstitutionId = options.PartnerId, TransactionIdentifier = reference }],
            Partner = request.Partner ?? new Institution { Id = options.PartnerId, Name = options.PartnerName },
            Amounts = (request.Amounts ?? new Amounts()) with { ApprovedAmount = request.Amounts?.RequestAmount },
            Tenders = [new Tender { Amount = request.Amounts?.RequestAmount, TenderType = TenderType.Wallet, Reference = reference }],
            TranId = request.TranId,
            PartnerPaymentToken = request.PartnerPaymentToken,
        };
        await Write(context, StatusCodes.Status201Created, response);
    }

    private static ErrorDetail FormatError(string what) => new()
    {
        Id = Guid.NewGuid().ToString(),
        ErrorType = ErrorType.FormatError,
        ErrorMessage = "Malformed message",
        DetailMessage = new System.Text.Json.Nodes.JsonObject { ["field"] = what },
    };

    private static ErrorDetail Error(JsonElement body, ErrorType type, string message) => new()
    {
        Id = body.TryGetProperty("id", out var id) && id.ValueKind == JsonValueKind.String ? id.GetString() : Guid.NewGuid().ToString(),
        ErrorType = type,
        ErrorMessage = message,
    };

    private static async Task Write<T>(HttpContext context, int status, T value)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        await context.Response.Body.WriteAsync(Encoding.UTF8.GetBytes(JsonSerializer.Serialize(value, QrJson.Options)));
    }

    internal static AuthenticationHeaderValue Auth(SimulatorOptions options) =>
        QrPaymentsClient.BasicAuthorization(options.Username, options.Password);
}

/// <summary>Body of POST /sim/scans.</summary>
public sealed record ScanCommand(string TranId, string? PartnerPaymentToken);

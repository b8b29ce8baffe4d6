using Electrum.QrPayments.Api.Advices;
using Electrum.QrPayments.Api.Ops;
using Electrum.QrPayments.Api.Partners;
using Electrum.QrPayments.Api.Payments;
using Electrum.QrPayments.Api.Persistence;
using Electrum.QrPayments.Api.QrCodes;
using Electrum.QrPayments.Api.Web;
using Electrum.QrPayments.Contracts.Json;
using Electrum.QrPayments.Contracts.Models;
using Electrum.QrPayments.Contracts.Validation;
using FluentValidation;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc.ModelBinding;
using Serilog;
using Serilog.Formatting.Json;

namespace Electrum.QrPayments.Api;

/// <summary>Builds the service: registrations, then the middleware pipeline.</summary>
public static class QrPaymentsApp
{
    public static WebApplication Build(string[] args)
    {
        var builder = WebApplication.CreateBuilder(args);
        ConfigureLogging(builder);
        var services = builder.Services;
        services.AddOptions<QrPaymentsOptions>().Bind(builder.Configuration.GetSection(QrPaymentsOptions.Section))
            .Validate(o => int.TryParse(o.MerchantAccountTag, out var tag) && tag is >= 26 and <= 51 && o.MerchantAccountTag.Length == 2,
                "QrPayments:MerchantAccountTag must be 26 to 51")
            .Validate(o => o.DefaultCurrency is { Length: 3 } c && c.All(char.IsAsciiDigit),
                "QrPayments:DefaultCurrency must be an ISO 4217 numeric code (3 digits)")
            .Validate(o => o.ScanWait > TimeSpan.Zero && o.PartnerTimeout > TimeSpan.Zero && o.EarlyScanGrace >= TimeSpan.Zero && o.SweepInterval > TimeSpan.Zero,
                "QrPayments:ScanWait, PartnerTimeout and SweepInterval must be positive, EarlyScanGrace not negative")
            .Validate(o => o.MaxRequestBodyBytes is > 0 and <= 16 * 1024 * 1024, "QrPayments:MaxRequestBodyBytes must be 1 byte to 16 MiB")
            .Validate(o => o.Partners.All(p => p.BaseUrl is { IsAbsoluteUri: true }), "QrPayments:Partners: every partner needs an absolute BaseUrl")
            .ValidateOnStart();

        services.AddSingleton(TimeProvider.System);
        services.AddQrDatabase(builder.Configuration);
        services.AddOptions<LoginThrottleOptions>().Bind(builder.Configuration.GetSection(LoginThrottleOptions.Section))
            .Validate(o => o.PermitsPerUser > 0 && o.PermitsPerAddress > 0 && o.ReplenishPeriod > TimeSpan.Zero &&
                           o.MaxConcurrentChecks > 0 && o.MaxQueuedChecks >= 0 && o.MaxCheckWait > TimeSpan.Zero,
                "QrPayments:LoginThrottle needs positive PermitsPerUser, PermitsPerAddress, ReplenishPeriod, MaxConcurrentChecks and MaxCheckWait, and MaxQueuedChecks of 0 or more")
            .ValidateOnStart();
        services.AddSingleton<LoginThrottle>();
        services.AddSingleton<CredentialStore>();
        services.AddAuthentication(BasicAuthenticationHandler.SchemeName)
            .AddScheme<AuthenticationSchemeOptions, BasicAuthenticationHandler>(BasicAuthenticationHandler.SchemeName, null);
        services.AddAuthorizationBuilder()
            .SetFallbackPolicy(new AuthorizationPolicyBuilder().RequireAuthenticatedUser().Build())
            .AddPolicy(Callers.ClientPolicy, p => p.RequireRole(nameof(CallerRole.Client)))
            .AddPolicy(Callers.PartnerPolicy, p => p.RequireRole(nameof(CallerRole.Partner)))
            .AddPolicy(Callers.OperatorPolicy, p => p.RequireRole(nameof(CallerRole.Operator)));

        AddValidators(services);
        services.AddSingleton<WireValidationFilter>();
        services.AddControllers(o =>
            {
                o.Filters.AddService<WireValidationFilter>();
                // Wire messages are validated by their FluentValidation validators (the filter above);
                // MVC's own validator would only walk every property of every message for nothing.
                o.ModelMetadataDetailsProviders.Add(new SuppressChildValidationMetadataProvider(typeof(IWireMessage)));
            })
            .AddJsonOptions(o => QrJson.Configure(o.JsonSerializerOptions))
            .ConfigureApiBehaviorOptions(o =>
            {
                o.InvalidModelStateResponseFactory = WireValidationFilter.InvalidModelState;
                // 404/405/415 without a body reach the status-code handler below and get an ErrorDetail.
                o.SuppressMapClientErrors = true;
            });
        services.AddExceptionHandler<QrExceptionHandler>();
        services.AddQrSwagger();
        services.AddQrHealth();
        services.AddQrTelemetry(builder.Configuration);
        QrTracing.EnsurePropagation();

        services.AddScoped<CreateQrCodeHandler>();
        services.AddScoped<QrImageHandler>();
        services.AddScoped<PayHandler>();
        services.AddScoped<ScanHandler>();
        services.AddScoped<AdviceHandler>();
        services.AddScoped<PaymentLookup>();
        services.AddScoped<Reconciliation>();
        services.AddSingleton<OutboxSampler>();
        services.AddHostedService(sp => sp.GetRequiredService<OutboxSampler>());
        services.AddSingleton<QrMetrics>();
        services.AddSingleton<Signals>();
        services.AddSingleton<IssuedCodes>();
        services.AddSingleton<KnownPayments>();
        services.AddSingleton<OutboxSignal>();
        services.AddSingleton<PartnerGateway>();
        services.AddOptions<OutboxOptions>().Bind(builder.Configuration.GetSection(OutboxOptions.Section))
            .Validate(o => o.PollInterval > TimeSpan.Zero && o.RetryBaseDelay > TimeSpan.Zero && o.RetryMaxDelay >= o.RetryBaseDelay
                      && o.PartnerConcurrency > 0 && o.BatchSize > o.PartnerConcurrency,
                "QrPayments:Outbox needs positive PollInterval, RetryBaseDelay and PartnerConcurrency, BatchSize > PartnerConcurrency, RetryMaxDelay >= RetryBaseDelay")
            .ValidateOnStart();
        services.AddSingleton<OutboxDispatcher>();
        services.AddHostedService(sp => sp.GetRequiredService<OutboxDispatcher>());
        services.AddHostedService<PaymentSweeper>();
        services.AddSingleton<HeldWatcher>();
        services.AddHostedService(sp => sp.GetRequiredService<HeldWatcher>());
        // Partner calls are bounded by PartnerTimeout (Polly), not by HttpClient's own timeout. A
        // redirect is not followed (it would turn a payment POST into a GET): it counts as an answer
        // we cannot read. A body larger than any real one is not read: its status alone decides.
        services.AddHttpClient(PartnerGateway.HttpClientName, c =>
            {
                c.Timeout = Timeout.InfiniteTimeSpan;
                c.MaxResponseContentBufferSize = PartnerGateway.MaxAnswerBytes;
            })
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { AllowAutoRedirect = false })
            // PartnerGateway logs each call itself, without its URL; the factory's two logging
            // handlers would add a scope and two filtered-out lines per call.
            .RemoveAllLoggers();

        builder.WebHost.ConfigureKestrel(k =>
            k.Limits.MaxRequestBodySize = builder.Configuration.GetValue<long?>($"{QrPaymentsOptions.Section}:MaxRequestBodyBytes")
                                          ?? new QrPaymentsOptions().MaxRequestBodyBytes);

        var app = builder.Build();
        // Fail at start-up, not on the first request, when credentials are misconfigured.
        _ = app.Services.GetRequiredService<CredentialStore>();
        Database.Migrate(app.Services);

        app.UseMiddleware<RequestLoggingMiddleware>();
        app.UseExceptionHandler(new ExceptionHandlerOptions
        {
            SuppressDiagnosticsCallback = _ => true,
            // Reached only if QrExceptionHandler declined, which it never does; still no stack trace out.
            ExceptionHandler = context => ErrorDetails.WriteAsync(context, 500, ErrorType.GeneralError, "Internal error"),
        });
        app.UseStatusCodePages(context => WriteStatusAsync(context.HttpContext));
        app.UseQrSwagger();
        // The ops console: static files with no secrets in them, so served without auth; the page
        // asks the operator to log in and calls the /ops endpoints with HTTP Basic.
        // Embedded in the assembly, so it is there however the service is run or published.
        var console = new Microsoft.Extensions.FileProviders.EmbeddedFileProvider(typeof(QrPaymentsApp).Assembly, "Electrum.QrPayments.Api.Ops.Console");
        app.UseDefaultFiles(new DefaultFilesOptions { RequestPath = "/ops", FileProvider = console });
        app.UseStaticFiles(new StaticFileOptions
        {
            RequestPath = "/ops",
            FileProvider = console,
            // Its own files only, never framed, never cached stale, types as served.
            OnPrepareResponse = files =>
            {
                var headers = files.Context.Response.Headers;
                headers.ContentSecurityPolicy = "default-src 'self'; frame-ancestors 'none'; form-action 'none'; base-uri 'none'";
                headers.XContentTypeOptions = "nosniff";
                headers.CacheControl = "no-cache";
            },
        });
        app.UseMiddleware<RequestBodyLimitMiddleware>();
        app.UseAuthentication();
        app.UseAuthorization();
        app.MapControllers();
        app.MapQrHealth();
        return app;
    }

    private static Task WriteStatusAsync(HttpContext context) => context.Response.StatusCode switch
    {
        StatusCodes.Status404NotFound => ErrorDetails.WriteAsync(context, 404, ErrorType.FunctionNotSupported,
            "No such operation", ErrorDetails.Reason("no operation at this path")),
        StatusCodes.Status405MethodNotAllowed => ErrorDetails.WriteAsync(context, 405, ErrorType.FunctionNotSupported,
            "Method not allowed", ErrorDetails.Reason("this path does not take this HTTP method")),
        StatusCodes.Status415UnsupportedMediaType => ErrorDetails.WriteAsync(context, 415, ErrorType.FormatError,
            "Unsupported media type", ErrorDetails.FieldDetail("Content-Type", "must be application/json")),
        var status => ErrorDetails.WriteAsync(context, status, ErrorType.GeneralError,
            "Request failed", ErrorDetails.Reason($"HTTP {status}")),
    };

    // FluentValidation.DependencyInjectionExtensions is not available: register each validator by hand.
    private static void AddValidators(IServiceCollection services)
    {
        foreach (var type in typeof(WireValidator<>).Assembly.GetTypes().Where(t => t is { IsAbstract: false, IsClass: true }))
        {
            var validated = type.BaseType is { IsGenericType: true } b && b.GetGenericTypeDefinition() == typeof(WireValidator<>)
                ? b.GetGenericArguments()[0]
                : null;
            if (validated is not null)
            {
                services.AddSingleton(typeof(IValidator<>).MakeGenericType(validated), type);
            }
        }
    }

    private static void ConfigureLogging(WebApplicationBuilder builder)
    {
        var configuration = new LoggerConfiguration()
            .MinimumLevel.Information()
            .MinimumLevel.Override("Microsoft", Serilog.Events.LogEventLevel.Warning)
            .MinimumLevel.Override("System", Serilog.Events.LogEventLevel.Warning)
            // EF logs every failed command as an error, expected unique-index races included; real
            // failures surface as exceptions that QrExceptionHandler logs once.
            .MinimumLevel.Override("Microsoft.EntityFrameworkCore.Database.Command", Serilog.Events.LogEventLevel.Fatal)
            .MinimumLevel.Override("Microsoft.EntityFrameworkCore.Update", Serilog.Events.LogEventLevel.Fatal)
            .MinimumLevel.Override("Electrum.QrPayments.Api.Web.BasicAuthenticationHandler", Serilog.Events.LogEventLevel.Warning)
            .ReadFrom.Configuration(builder.Configuration)
            .Enrich.FromLogContext();
        configuration = builder.Environment.IsDevelopment()
            ? configuration.WriteTo.Console(outputTemplate: "[{Timestamp:HH:mm:ss} {Level:u3}] {SourceContext}: {Message:lj} {TraceId}{NewLine}{Exception}")
            : configuration.WriteTo.Console(new JsonFormatter(renderMessage: true));
        builder.Logging.ClearProviders();
        builder.Logging.AddSerilog(configuration.CreateLogger(), dispose: true);
    }

}

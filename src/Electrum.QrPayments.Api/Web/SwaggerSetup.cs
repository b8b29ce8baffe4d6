using System.Text.Json;
using System.Text.Json.Nodes;
using Electrum.QrPayments.Contracts.Json;
using FluentValidation;
using FluentValidation.Validators;
using Microsoft.OpenApi;
using Swashbuckle.AspNetCore.SwaggerGen;

namespace Electrum.QrPayments.Api.Web;

/// <summary>Swagger UI at /swagger: the interface's operation ids, every status, Basic auth, example bodies.</summary>
public static class SwaggerSetup
{
    public const string SchemeName = "basic";

    public static IServiceCollection AddQrSwagger(this IServiceCollection services)
    {
        services.AddEndpointsApiExplorer();
        services.AddSwaggerGen(c =>
        {
            c.SwaggerDoc("v1", new OpenApiInfo
            {
                Title = "Electrum QR Payments",
                Version = "1.7.0",
                Description = "The Electrum QR Payment Service Interface v1.7.0 (merchant side): POS systems request QR codes " +
                              "and payments; partners post scan notifications. Every operation takes HTTP Basic credentials.",
                License = new OpenApiLicense { Name = "Apache 2.0", Url = new Uri("http://www.apache.org/licenses/LICENSE-2.0.html") },
            });
            c.CustomOperationIds(api => api.ActionDescriptor.AttributeRouteInfo?.Name);
            // The interface's operations first, operator endpoints last.
            c.OrderActionsBy(api => (api.RelativePath?.StartsWith("ops", StringComparison.Ordinal) == true ? "2" : "1") + api.RelativePath);
            c.AddSecurityDefinition(SchemeName, new OpenApiSecurityScheme
            {
                Type = SecuritySchemeType.Http,
                Scheme = "basic",
                Description = "User name = client.id for POS calls, partner.id for scans; password as agreed.",
            });
            c.AddSecurityRequirement(document => new OpenApiSecurityRequirement
            {
                [new OpenApiSecuritySchemeReference(SchemeName, document)] = [],
            });
            c.MapType<JsonObject>(() => new OpenApiSchema { Type = JsonSchemaType.Object });
            c.SchemaFilter<ValidationSchemaFilter>();
            c.OperationFilter<ExampleBodyFilter>();
            foreach (var xml in new[] { "Electrum.QrPayments.Api.xml", "Electrum.QrPayments.Contracts.xml" })
            {
                var path = Path.Combine(AppContext.BaseDirectory, xml);
                if (File.Exists(path))
                {
                    c.IncludeXmlComments(path);
                }
            }
        });
        return services;
    }

    public static WebApplication UseQrSwagger(this WebApplication app)
    {
        app.UseSwagger();
        app.UseSwaggerUI(o =>
        {
            o.SwaggerEndpoint("/swagger/v1/swagger.json", "Electrum QR Payments 1.7.0");
            o.DocumentTitle = "Electrum QR Payments";
        });
        return app;
    }
}

/// <summary>
/// Writes each validator's constraints into the schema (required, lengths, patterns, email),
/// so the documented contract and the enforced one cannot drift apart.
/// </summary>
public sealed class ValidationSchemaFilter(IServiceProvider services) : ISchemaFilter
{
    public void Apply(IOpenApiSchema schema, SchemaFilterContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (schema is not OpenApiSchema target || target.Properties is null)
        {
            return;
        }

        // Unknown properties are ignored, not refused (newer interface versions may add fields).
        target.AdditionalPropertiesAllowed = true;
        target.AdditionalProperties = null;

        // Everything on the wire may be absent; "required" says what must be present, so no nullable flags.
        foreach (var property in target.Properties.Values.OfType<OpenApiSchema>())
        {
            if (property.Type is { } type)
            {
                property.Type = type & ~JsonSchemaType.Null;
            }
        }

        if (services.GetService(typeof(IValidator<>).MakeGenericType(context.Type)) is not IValidator validator)
        {
            return;
        }

        foreach (var rule in validator.CreateDescriptor().Rules)
        {
            if (rule.PropertyName is null || IsCollectionRule(rule) ||
                !target.Properties.TryGetValue(JsonNamingPolicy.CamelCase.ConvertName(rule.PropertyName), out var found))
            {
                continue;
            }

            var name = JsonNamingPolicy.CamelCase.ConvertName(rule.PropertyName);
            var property = found as OpenApiSchema;
            foreach (var component in rule.Components.Where(c => !c.HasCondition && !c.HasAsyncCondition))
            {
                switch (component.Validator)
                {
                    case INotNullValidator or INotEmptyValidator:
                        target.Required ??= new HashSet<string>();
                        target.Required.Add(name);
                        break;
                    case ILengthValidator length when property is not null:
                        property.MinLength = length.Min > 0 ? length.Min : property.MinLength;
                        property.MaxLength = length.Max > 0 ? length.Max : property.MaxLength;
                        break;
                    case IRegularExpressionValidator regex when property is not null:
                        property.Pattern = regex.Expression;
                        break;
                    case IEmailValidator when property is not null:
                        property.Format = "email";
                        break;
                }
            }
        }
    }

    private static bool IsCollectionRule(IValidationRule rule) =>
        rule.GetType().GetInterfaces().Any(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(ICollectionRule<,>));
}

/// <summary>A valid example body per operation, so "Try it out" works as shown.</summary>
public sealed class ExampleBodyFilter : IOperationFilter
{
    public void Apply(OpenApiOperation operation, OperationFilterContext context)
    {
        ArgumentNullException.ThrowIfNull(operation);
        ArgumentNullException.ThrowIfNull(context);
        var bodyType = context.ApiDescription.ParameterDescriptions
            .FirstOrDefault(p => p.Source.Id == "Body")?.Type;
        if (bodyType is null || operation.RequestBody?.Content is null ||
            ExampleMessages.For(bodyType) is not { } example)
        {
            return;
        }

        foreach (var media in operation.RequestBody.Content.Values)
        {
            media.Example = JsonSerializer.SerializeToNode(example, bodyType, QrJson.Options);
        }
    }
}

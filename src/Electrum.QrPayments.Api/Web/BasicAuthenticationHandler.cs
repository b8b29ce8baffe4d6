using System.Globalization;
using System.Net.Http.Headers;
using System.Security.Claims;
using System.Text;
using System.Text.Encodings.Web;
using Electrum.QrPayments.Contracts.Models;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

namespace Electrum.QrPayments.Api.Web;

/// <summary>
/// HTTP Basic against <see cref="CredentialStore"/>; challenges and refusals answer with ErrorDetail,
/// a throttled login with 429 and Retry-After.
/// </summary>
public sealed class BasicAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder,
    CredentialStore store)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "Basic";

    // Set when the login was throttled, so the challenge answers 429 instead of 401.
    private static readonly object ThrottledKey = new();

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        if (!AuthenticationHeaderValue.TryParse(Request.Headers.Authorization, out var header) ||
            !SchemeName.Equals(header.Scheme, StringComparison.OrdinalIgnoreCase) ||
            header.Parameter is null)
        {
            return AuthenticateResult.NoResult();
        }

        string user, password;
        try
        {
            var decoded = Encoding.UTF8.GetString(Convert.FromBase64String(header.Parameter));
            var colon = decoded.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0)
            {
                return AuthenticateResult.Fail("malformed credentials");
            }

            user = decoded[..colon];
            password = decoded[(colon + 1)..];
        }
        catch (FormatException)
        {
            return AuthenticateResult.Fail("malformed credentials");
        }

        var login = await store.AuthenticateAsync(user, password, Context.Connection.RemoteIpAddress);
        if (login.RetryAfter is { } retryAfter)
        {
            Context.Items[ThrottledKey] = retryAfter;
            return AuthenticateResult.Fail("too many failed logins");
        }

        if (login.Role is not { } role)
        {
            return AuthenticateResult.Fail("wrong credentials");
        }

        var identity = new ClaimsIdentity(
            [new Claim(ClaimTypes.Name, user), new Claim(ClaimTypes.Role, role.ToString())], SchemeName);
        return AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName));
    }

    protected override Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        if (Context.Items[ThrottledKey] is TimeSpan retryAfter)
        {
            var seconds = Math.Max(1, (long)Math.Ceiling(retryAfter.TotalSeconds));
            Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
            return ErrorDetails.WriteAsync(Context, StatusCodes.Status429TooManyRequests, ErrorType.GeneralError,
                "Too many failed logins", ErrorDetails.Reason(
                    $"too many failed logins for this user name, from this address or in all; try again in {seconds} s"));
        }

        Response.Headers.WWWAuthenticate = "Basic realm=\"Electrum QR Payments\", charset=\"UTF-8\"";
        return ErrorDetails.WriteAsync(Context, StatusCodes.Status401Unauthorized, ErrorType.GeneralError,
            "Authentication required", ErrorDetails.Reason("send HTTP Basic credentials of a configured caller"));
    }

    protected override Task HandleForbiddenAsync(AuthenticationProperties properties) =>
        ErrorDetails.WriteAsync(Context, StatusCodes.Status403Forbidden, ErrorType.GeneralError,
            "Not allowed for this caller", ErrorDetails.Reason("this operation is not open to the caller's role"));
}

/// <summary>Role policies and the check that a message speaks for the caller who sent it.</summary>
public static class Callers
{
    public const string ClientPolicy = nameof(CallerRole.Client);
    public const string PartnerPolicy = nameof(CallerRole.Partner);
    public const string OperatorPolicy = nameof(CallerRole.Operator);

    public static string Name(ClaimsPrincipal user) =>
        user.Identity?.Name ?? throw new InvalidOperationException("endpoint reached without an authenticated caller");

    /// <summary>403 unless the message's own id (client.id or partner.id) is the caller's user name.</summary>
    public static void EnsureSpeaksFor(ClaimsPrincipal user, string? idInMessage, string field)
    {
        if (!string.Equals(Name(user), idInMessage, StringComparison.Ordinal))
        {
            throw QrException.Forbidden($"{field} must equal the authenticated user name");
        }
    }
}

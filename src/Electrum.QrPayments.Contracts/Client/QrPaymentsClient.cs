using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Electrum.QrPayments.Contracts.Json;
using Electrum.QrPayments.Contracts.Models;

namespace Electrum.QrPayments.Contracts.Client;

/// <summary>What a call got back: the status, and either the typed body or the ErrorDetail.</summary>
public record QrResponse(HttpStatusCode Status, ErrorDetail? Error)
{
    public bool IsSuccessStatus => (int)Status is >= 200 and < 300;
}

/// <summary>A response whose success body is typed.</summary>
public sealed record QrResponse<T>(HttpStatusCode Status, T? Body, ErrorDetail? Error) : QrResponse(Status, Error)
    where T : class;

/// <summary>
/// A typed client for the five operations of the interface, against any base URL that serves them
/// (this service, or a partner's side of pay/confirm/reverse). Transport failures and timeouts
/// surface as exceptions: the caller decides what an unknown outcome means.
/// </summary>
public sealed class QrPaymentsClient
{
    private readonly HttpClient http;
    private readonly string baseUrl;
    private readonly AuthenticationHeaderValue? authorization;

    /// <param name="http">The transport; its BaseAddress is not used.</param>
    /// <param name="baseUrl">Where the operations live, e.g. <c>http://127.0.0.1:9001/qr/v1</c>.</param>
    /// <param name="credentials">HTTP Basic credentials, or null to send none.</param>
    public QrPaymentsClient(HttpClient http, Uri baseUrl, NetworkCredential? credentials)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(baseUrl);
        this.http = http;
        this.baseUrl = baseUrl.ToString().TrimEnd('/');
        authorization = credentials is null ? null : BasicAuthorization(credentials.UserName, credentials.Password);
    }

    /// <summary>The Authorization header value for HTTP Basic.</summary>
    public static AuthenticationHeaderValue BasicAuthorization(string user, string password) =>
        new("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{user}:{password}")));

    public Task<QrResponse<CreateQrCodeResponse>> CreateQrCodeAsync(CreateQrCodeRequest request, CancellationToken ct = default) =>
        PostAsync<CreateQrCodeRequest, CreateQrCodeResponse>("qrCodes", request, ct);

    public async Task<QrResponse> NotifyScanAsync(ScanNotification notification, CancellationToken ct = default) =>
        await PostAsync<ScanNotification, ScanNotification>("scans", notification, ct, expectBody: false).ConfigureAwait(false);

    public Task<QrResponse<PaymentResponse>> PayAsync(PaymentRequest request, CancellationToken ct = default) =>
        PostAsync<PaymentRequest, PaymentResponse>("payments", request, ct);

    public Task<QrResponse<PaymentConfirmation>> ConfirmPaymentAsync(PaymentConfirmation confirmation, CancellationToken ct = default) =>
        PostAsync<PaymentConfirmation, PaymentConfirmation>("payments/confirmations", confirmation, ct);

    public Task<QrResponse<PaymentReversal>> ReversePaymentAsync(PaymentReversal reversal, CancellationToken ct = default) =>
        PostAsync<PaymentReversal, PaymentReversal>("payments/reversals", reversal, ct);

    private async Task<QrResponse<TResponse>> PostAsync<TRequest, TResponse>(
        string path, TRequest body, CancellationToken ct, bool expectBody = true)
        where TResponse : class
    {
        using var message = new HttpRequestMessage(HttpMethod.Post, new Uri($"{baseUrl}/{path}"))
        {
            Content = JsonBody.Create(body),
        };
        message.Headers.Authorization = authorization;
        message.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));

        using var response = await http.SendAsync(message, HttpCompletionOption.ResponseHeadersRead, ct).ConfigureAwait(false);
        var content = await ReadAtMostAsync(response.Content, http.MaxResponseContentBufferSize, http.Timeout, ct).ConfigureAwait(false);
        if (response.IsSuccessStatusCode)
        {
            var typed = expectBody && content.Length > 0 ? TryRead<TResponse>(content) : null;
            return new QrResponse<TResponse>(response.StatusCode, typed, null);
        }

        return new QrResponse<TResponse>(response.StatusCode, null, content.Length > 0 ? TryRead<ErrorDetail>(content) : null);
    }

    // A body over the transport's buffer limit counts as no body (and is not read): the status still decides.
    // Read after the headers, so HttpClient.Timeout no longer covers it: it is applied here.
    private static async Task<byte[]> ReadAtMostAsync(HttpContent content, long limit, TimeSpan timeout, CancellationToken callerToken)
    {
        if (content.Headers.ContentLength > limit)
        {
            return [];
        }

        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(callerToken);
        if (timeout != Timeout.InfiniteTimeSpan)
        {
            bounded.CancelAfter(timeout);
        }

        var ct = bounded.Token;
        var stream = await content.ReadAsStreamAsync(ct).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            using var buffer = new MemoryStream();
            var chunk = new byte[16 * 1024];
            int read;
            while ((read = await stream.ReadAsync(chunk, ct).ConfigureAwait(false)) > 0)
            {
                if (buffer.Length + read > limit)
                {
                    return [];
                }

                buffer.Write(chunk, 0, read);
            }

            return buffer.ToArray();
        }
    }

    // A peer's malformed body is reported as a missing body, never thrown: the status still decides.
    private static T? TryRead<T>(byte[] content) where T : class
    {
        try
        {
            return JsonSerializer.Deserialize<T>(content, QrJson.Options);
        }
        catch (JsonException)
        {
            return null;
        }
    }
}

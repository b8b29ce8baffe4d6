using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Electrum.QrPayments.Contracts.Client;
using Electrum.QrPayments.Contracts.Json;
using Electrum.QrPayments.Contracts.Models;

namespace Electrum.QrPayments.Benchmarks.Load;

/// <summary>Answers other than the expected one, counted by operation and status.</summary>
internal sealed class Tally
{
    private readonly ConcurrentDictionary<string, int> counts = new(StringComparer.Ordinal);

    public void Add(string operation, string outcome) => counts.AddOrUpdate($"{operation} {outcome}", 1, (_, n) => n + 1);

    public IReadOnlyDictionary<string, int> Snapshot() => new SortedDictionary<string, int>(counts, StringComparer.Ordinal);

    public void Clear() => counts.Clear();
}

/// <summary>What a call got: the status (0 when there was no answer) and the typed body of a success.</summary>
internal readonly record struct WireResponse<T>(int Status, T? Body);

/// <summary>
/// Posts the interface's messages as the POS or the partner would, with a Content-Length body, and
/// counts every answer that is not the expected one. Optionally signals once the request body is
/// on the wire, so a scan can be sent while its pay is known to be pending.
/// </summary>
internal sealed class WireClient(HttpClient http, Uri baseUrl, NetworkCredential credentials, Tally tally)
{
    private readonly string prefix = baseUrl.ToString().TrimEnd('/');
    private readonly AuthenticationHeaderValue authorization = QrPaymentsClient.BasicAuthorization(credentials.UserName, credentials.Password);

    public async Task<WireResponse<TResponse>> PostAsync<TRequest, TResponse>(
        string operation, string path, TRequest body, int expected, TaskCompletionSource? sent = null, CancellationToken ct = default)
        where TResponse : class
    {
        try
        {
            using var message = new HttpRequestMessage(HttpMethod.Post, new Uri($"{prefix}/{path}"));
            message.Content = new SignallingContent(JsonSerializer.SerializeToUtf8Bytes(body, QrJson.Options), sent);
            message.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            message.Headers.Authorization = authorization;
            using var response = await http.SendAsync(message, HttpCompletionOption.ResponseContentRead, ct);
            var status = (int)response.StatusCode;
            var content = await response.Content.ReadAsByteArrayAsync(ct);
            if (status != expected)
            {
                tally.Add(operation, $"{status.ToString(CultureInfo.InvariantCulture)} {ErrorType(content)}".TrimEnd());
                return new WireResponse<TResponse>(status, null);
            }

            return new WireResponse<TResponse>(status, content.Length == 0 ? null : JsonSerializer.Deserialize<TResponse>(content, QrJson.Options));
        }
        catch (JsonException)
        {
            tally.Add(operation, "unreadable body");
            return new WireResponse<TResponse>(0, null);
        }
        catch (HttpRequestException e)
        {
            tally.Add(operation, $"no answer ({e.HttpRequestError})");
            return new WireResponse<TResponse>(0, null);
        }
        catch (TaskCanceledException) when (!ct.IsCancellationRequested)
        {
            tally.Add(operation, "no answer (client timeout)");
            return new WireResponse<TResponse>(0, null);
        }
        finally
        {
            // A request that failed before its body was sent must not leave its waiter hanging.
            sent?.TrySetResult();
        }
    }

    // The ErrorDetail's errorType says which of a status's several meanings it was.
    private static string ErrorType(byte[] content)
    {
        try
        {
            return content.Length > 0 && JsonSerializer.Deserialize<ErrorDetail>(content, QrJson.Options)?.ErrorType is { } type
                ? JsonSerializer.Serialize(type, QrJson.Options).Trim('"')
                : "";
        }
        catch (JsonException)
        {
            return "";
        }
    }

    private sealed class SignallingContent(byte[] bytes, TaskCompletionSource? sent) : ByteArrayContent(bytes)
    {
        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
        {
            await base.SerializeToStreamAsync(stream, context, cancellationToken);
            sent?.TrySetResult();
        }

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            await base.SerializeToStreamAsync(stream, context);
            sent?.TrySetResult();
        }
    }
}

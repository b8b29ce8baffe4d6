using System.Collections.Concurrent;
using System.Globalization;
using System.Net.Sockets;
using System.Text;
using Electrum.QrPayments.Contracts.Client;

namespace Electrum.QrPayments.Tests.Infrastructure;

/// <summary>One request as <see cref="RawPartner"/> read it off the wire.</summary>
/// <param name="Connection">Which connection it came on (1, 2, ...).</param>
/// <param name="OnConnection">Its place on that connection (1 = first).</param>
public sealed record RawRequest(string Method, string Target, IReadOnlyList<KeyValuePair<string, string>> Headers, byte[] Body,
    int Connection, int OnConnection)
{
    public string Path => Target.Split('?')[0];

    /// <summary>Every value of a header, by case-insensitive name, as sent.</summary>
    public IReadOnlyList<string> Values(string name) =>
        [.. Headers.Where(h => string.Equals(h.Key, name, StringComparison.OrdinalIgnoreCase)).Select(h => h.Value)];

    public JsonElement Json()
    {
        using var document = JsonDocument.Parse(Body);
        return document.RootElement.Clone();
    }

    public T Read<T>() => JsonSerializer.Deserialize<T>(Body, QrJson.Options)!;
}

/// <summary>An answer: status, and a JSON body or none.</summary>
public sealed record RawResponse(int Status, byte[]? Body = null)
{
    public static RawResponse Json<T>(int status, T value) => new(status, JsonSerializer.SerializeToUtf8Bytes(value, QrJson.Options));
}

/// <summary>
/// A partner that is not Kestrel: a TcpListener on loopback with a strict, hand-written HTTP/1.1
/// parser, as simple gateways have. A request body is read by Content-Length only: a request with
/// Transfer-Encoding, or a POST/PUT without Content-Length, is answered 411 and recorded as a
/// violation, as are bad framing and wrong Basic credentials. Serves pay (201 PaymentResponse), the
/// two advices (202 echo), scans (202) and createQrCode (201) under /qr/v1; a handler may answer
/// other paths. Its answers are legal but unlike Kestrel's: lower-case header names, a
/// non-canonical Content-Type, and framing and connection handling that change from one response to
/// the next (Content-Length, chunked, or delimited by closing; keep-alive or close). It stops by
/// itself after <c>lifetime</c>.
/// </summary>
public sealed class RawPartner : IAsyncDisposable
{
    public const string BasePath = "/qr/v1";

    private const int MaxLine = 8 * 1024;
    private const int MaxHeaders = 100;
    private const int MaxBody = 1024 * 1024;
    private static readonly TimeSpan IdleTimeout = TimeSpan.FromSeconds(15);

    private readonly TcpListener listener;
    private readonly CancellationTokenSource stop;
    private readonly string expectedAuthorization;
    private readonly Func<RawRequest, RawResponse?>? handler;
    private readonly ConcurrentQueue<RawRequest> received = new();
    private readonly ConcurrentQueue<string> violations = new();
    private readonly ConcurrentDictionary<int, TcpClient> open = new();
    private readonly ConcurrentBag<Task> connectionTasks = [];
    private readonly Task accepting;
    private int connections;
    private int responses;

    /// <param name="user">The Basic user name callers must send (default: what the service sends partners).</param>
    /// <param name="handler">Answers a request first; null falls through to the built-in routes.</param>
    /// <param name="lifetime">Stops listening and drops connections after this long (default 2 minutes).</param>
    public RawPartner(string user = QrService.PartnerUpstreamUser, string password = QrService.PartnerUpstreamPassword,
        Func<RawRequest, RawResponse?>? handler = null, TimeSpan? lifetime = null)
    {
        expectedAuthorization = QrPaymentsClient.BasicAuthorization(user, password).ToString();
        this.handler = handler;
        listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        Root = new Uri($"http://127.0.0.1:{((IPEndPoint)listener.LocalEndpoint).Port}/");
        stop = new CancellationTokenSource(lifetime ?? TimeSpan.FromMinutes(2));
        accepting = AcceptAsync(stop.Token);
    }

    public Uri Root { get; }
    public Uri BaseUrl => new(Root, BasePath.TrimStart('/'));

    /// <summary>Requests that passed the framing and credential checks, in arrival order.</summary>
    public IReadOnlyCollection<RawRequest> Received => received;

    /// <summary>Requests refused for how they were framed or authenticated; empty when every caller behaved.</summary>
    public IReadOnlyCollection<string> Violations => violations;

    public IReadOnlyList<RawRequest> ReceivedAt(string path) => [.. received.Where(r => r.Path == BasePath + path)];

    /// <summary>Waits (real time, bounded) until this many requests for a path under /qr/v1 have arrived.</summary>
    public Task UntilReceivedAsync(string path, int count) =>
        Flow.UntilAsync(() => Task.FromResult(ReceivedAt(path).Count >= count || !violations.IsEmpty),
            $"the raw partner to receive {count} {path}");

    /// <summary>Asserts that nothing was refused and every request was framed by Content-Length alone.</summary>
    public void AssertContentLengthOnly()
    {
        Assert.Empty(violations);
        Assert.NotEmpty(received);
        Assert.All(received, r =>
        {
            Assert.Equal(r.Body.Length.ToString(CultureInfo.InvariantCulture), Assert.Single(r.Values("Content-Length")));
            Assert.Empty(r.Values("Transfer-Encoding"));
        });
    }

    private async Task AcceptAsync(CancellationToken ct)
    {
        try
        {
            while (true)
            {
                var client = await listener.AcceptTcpClientAsync(ct);
                var id = Interlocked.Increment(ref connections);
                open[id] = client;
                connectionTasks.Add(ServeAsync(client, id, ct));
            }
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
            // Stopped: by DisposeAsync or at the end of the lifetime.
        }
        finally
        {
            listener.Stop();
        }
    }

    private async Task ServeAsync(TcpClient client, int connection, CancellationToken ct)
    {
        try
        {
            var stream = client.GetStream();
            var reader = new WireReader(stream);
            for (var onConnection = 1; ; onConnection++)
            {
                using var idle = CancellationTokenSource.CreateLinkedTokenSource(ct);
                idle.CancelAfter(IdleTimeout);
                RawRequest? request;
                try
                {
                    request = await ReadRequestAsync(reader, connection, onConnection, idle.Token);
                }
                catch (Refusal refusal)
                {
                    violations.Enqueue(refusal.Message);
                    await WriteAsync(stream, new RawResponse(refusal.Status), forceClose: true, idle.Token);
                    await LingerAsync(client, stream, idle.Token);
                    return;
                }

                if (request is null)
                {
                    return; // the caller closed the connection between requests
                }

                var response = Answer(request);
                var close = request.Values("Connection").Any(v => v.Contains("close", StringComparison.OrdinalIgnoreCase));
                if (await WriteAsync(stream, response, close, idle.Token))
                {
                    await LingerAsync(client, stream, idle.Token);
                    return;
                }
            }
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or SocketException or ObjectDisposedException)
        {
            // The caller went away, the connection sat idle too long, or we are stopping.
        }
        finally
        {
            open.TryRemove(connection, out _);
            client.Dispose();
        }
    }

    private async Task<RawRequest?> ReadRequestAsync(WireReader reader, int connection, int onConnection, CancellationToken ct)
    {
        var requestLine = await reader.ReadLineAsync(ct);
        if (requestLine is null)
        {
            return null;
        }

        var parts = requestLine.Split(' ');
        if (parts.Length != 3 || parts[0].Length == 0 || !parts[0].All(char.IsAsciiLetterUpper) || !parts[1].StartsWith('/'))
        {
            throw new Refusal(400, $"malformed request line '{requestLine}'");
        }

        if (parts[2] != "HTTP/1.1")
        {
            throw new Refusal(505, $"{parts[0]} {parts[1]}: version {parts[2]}");
        }

        var (method, target) = (parts[0], parts[1]);
        var what = $"{method} {target}";
        var headers = new List<KeyValuePair<string, string>>();
        while (await reader.ReadLineAsync(ct) is { Length: > 0 } line)
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            // Folded lines and whitespace before the colon are how requests get smuggled: refused.
            if (colon <= 0 || line[0] is ' ' or '\t' || line[colon - 1] is ' ' or '\t')
            {
                throw new Refusal(400, $"{what}: malformed header line '{line}'");
            }

            headers.Add(new(line[..colon], line[(colon + 1)..].Trim(' ', '\t')));
            if (headers.Count > MaxHeaders)
            {
                throw new Refusal(431, $"{what}: more than {MaxHeaders} headers");
            }
        }

        string[] Values(string name) => [.. headers.Where(h => string.Equals(h.Key, name, StringComparison.OrdinalIgnoreCase)).Select(h => h.Value)];

        if (Values("Transfer-Encoding") is { Length: > 0 } encodings)
        {
            throw new Refusal(411, $"{what}: Transfer-Encoding: {string.Join(", ", encodings)} (only Content-Length is read)");
        }

        if (Values("Host").Length != 1)
        {
            throw new Refusal(400, $"{what}: {Values("Host").Length} Host headers");
        }

        if (Values("Expect").Length > 0)
        {
            throw new Refusal(417, $"{what}: Expect: {Values("Expect")[0]}");
        }

        var lengths = Values("Content-Length");
        if (lengths.Length == 0 && method is "POST" or "PUT" or "PATCH")
        {
            throw new Refusal(411, $"{what}: no Content-Length");
        }

        if (lengths.Length > 1 || (lengths.Length == 1 && !lengths[0].All(char.IsAsciiDigit)) || (lengths.Length == 1 && lengths[0].Length is 0 or > 9))
        {
            throw new Refusal(400, $"{what}: Content-Length '{string.Join(", ", lengths)}'");
        }

        var length = lengths.Length == 0 ? 0 : int.Parse(lengths[0], CultureInfo.InvariantCulture);
        if (length > MaxBody)
        {
            throw new Refusal(413, $"{what}: Content-Length {length}");
        }

        var body = await reader.ReadExactlyAsync(length, ct)
            ?? throw new Refusal(400, $"{what}: connection ended inside a body of {length} bytes");
        if (Values("Authorization") is not [var authorization] || authorization != expectedAuthorization)
        {
            throw new Refusal(401, $"{what}: missing or wrong Basic credentials");
        }

        var request = new RawRequest(method, target, headers, body, connection, onConnection);
        received.Enqueue(request);
        return request;
    }

    private RawResponse Answer(RawRequest request)
    {
        if (handler?.Invoke(request) is { } answered)
        {
            return answered;
        }

        if (request.Method != "POST" || !request.Path.StartsWith(BasePath + "/", StringComparison.Ordinal))
        {
            return new RawResponse(404);
        }

        try
        {
            return Route(request);
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            violations.Enqueue($"{request.Method} {request.Target}: a body of {request.Body.Length} bytes that is not the expected JSON");
            return new RawResponse(400);
        }
    }

    private static RawResponse Route(RawRequest request) =>
        request.Path[BasePath.Length..] switch
        {
            "/payments" => RawResponse.Json(201, Approve(request.Read<PaymentRequest>())),
            "/payments/confirmations" or "/payments/reversals" => new RawResponse(202, request.Body),
            "/scans" => new RawResponse(202),
            "/qrCodes" => RawResponse.Json(201, new CreateQrCodeResponse
            {
                Id = request.Json().GetProperty("id").GetString(),
                Time = DateTimeOffset.UtcNow,
                TranId = Guid.NewGuid().ToString("N"),
                QrCode = "000201",
            }),
            _ => new RawResponse(404),
        };

    // What the simulator answers: the request's own fields, approved in full.
    private static PaymentResponse Approve(PaymentRequest request)
    {
        var reference = Guid.NewGuid().ToString("N")[..12].ToUpperInvariant();
        return new PaymentResponse
        {
            Id = request.Id,
            Time = DateTimeOffset.UtcNow,
            Originator = request.Originator,
            Client = request.Client,
            ThirdPartyIdentifiers = [.. request.ThirdPartyIdentifiers ?? [], new ThirdPartyIdentifier { InstitutionId = QrService.Partner, TransactionIdentifier = reference }],
            Partner = request.Partner,
            Amounts = (request.Amounts ?? new Amounts()) with { ApprovedAmount = request.Amounts?.RequestAmount },
            Tenders = [new Tender { Amount = request.Amounts?.RequestAmount, TenderType = TenderType.Wallet, Reference = reference }],
            TranId = request.TranId,
            PartnerPaymentToken = request.PartnerPaymentToken,
        };
    }

    /// <summary>
    /// Writes an answer in the style of the n-th response: Content-Length and keep-alive, chunked and
    /// keep-alive, Content-Length and close, delimited by closing. Returns whether to close now.
    /// </summary>
    private async Task<bool> WriteAsync(NetworkStream stream, RawResponse response, bool forceClose, CancellationToken ct)
    {
        var style = (Interlocked.Increment(ref responses) - 1) % 4;
        var body = response.Body ?? [];
        var close = forceClose || style >= 2;
        var head = new StringBuilder();
        head.Append(CultureInfo.InvariantCulture, $"HTTP/1.1 {response.Status} {Reason(response.Status, lowerCase: style % 2 == 1)}\r\n");
        head.Append(CultureInfo.InvariantCulture, $"date: {DateTimeOffset.UtcNow:r}\r\n");
        head.Append("server: raw-partner\r\n");
        if (response.Status == 401)
        {
            head.Append("www-authenticate: Basic realm=\"raw partner\"\r\n");
        }

        if (response.Body is not null)
        {
            head.Append("content-type: application/json;charset=UTF-8\r\n");
        }

        var chunked = false;
        if (response.Status == 204)
        {
            // No body and no framing headers at all.
        }
        else if (style == 1 && !forceClose)
        {
            head.Append("transfer-encoding: chunked\r\n");
            chunked = true;
        }
        else if (style != 3 || forceClose)
        {
            head.Append(CultureInfo.InvariantCulture, $"content-length: {body.Length}\r\n");
        }

        head.Append(close ? "connection: close\r\n" : style == 0 ? "connection: keep-alive\r\n" : "");
        head.Append("\r\n");
        await stream.WriteAsync(Encoding.Latin1.GetBytes(head.ToString()), ct);
        await stream.FlushAsync(ct);
        if (chunked)
        {
            // Small chunks with lower-case hex sizes and an extension on the first, all legal.
            for (var offset = 0; offset < body.Length; offset += 16)
            {
                var size = Math.Min(16, body.Length - offset);
                var extension = offset == 0 ? ";raw=1" : "";
                await stream.WriteAsync(Encoding.Latin1.GetBytes($"{size:x}{extension}\r\n"), ct);
                await stream.WriteAsync(body.AsMemory(offset, size), ct);
                await stream.WriteAsync("\r\n"u8.ToArray(), ct);
            }

            await stream.WriteAsync("0\r\n\r\n"u8.ToArray(), ct);
        }
        else if (response.Status != 204)
        {
            await stream.WriteAsync(body, ct);
        }

        await stream.FlushAsync(ct);
        return close;
    }

    // Closes the way careful servers do: stop sending, let the caller finish, then close, so a
    // refusal sent before the request was read is not lost to a reset.
    private static async Task LingerAsync(TcpClient client, NetworkStream stream, CancellationToken ct)
    {
        client.Client.Shutdown(SocketShutdown.Send);
        using var linger = CancellationTokenSource.CreateLinkedTokenSource(ct);
        linger.CancelAfter(TimeSpan.FromSeconds(2));
        var sink = new byte[4096];
        while (await stream.ReadAsync(sink, linger.Token) > 0)
        {
        }
    }

    private static string Reason(int status, bool lowerCase)
    {
        var reason = status switch
        {
            200 => "OK",
            201 => "Created",
            202 => "Accepted",
            204 => "No Content",
            400 => "Bad Request",
            401 => "Unauthorized",
            404 => "Not Found",
            411 => "Length Required",
            413 => "Content Too Large",
            417 => "Expectation Failed",
            431 => "Request Header Fields Too Large",
            505 => "HTTP Version Not Supported",
            _ => "Whatever",
        };
        return lowerCase ? reason.ToLowerInvariant() : reason;
    }

    public async ValueTask DisposeAsync()
    {
        await stop.CancelAsync();
        listener.Stop();
        foreach (var client in open.Values)
        {
            client.Dispose();
        }

        await Task.WhenAll([accepting, .. connectionTasks]).WaitAsync(TimeSpan.FromSeconds(10));
        stop.Dispose();
    }

    private sealed class Refusal(int status, string violation) : Exception(violation)
    {
        public int Status { get; } = status;
    }

    /// <summary>Lines and exact byte counts off a stream, with its own buffer (requests may arrive back to back).</summary>
    private sealed class WireReader(Stream stream)
    {
        private readonly byte[] buffer = new byte[8192];
        private int start;
        private int end;

        /// <summary>A line without its CRLF; null if the stream ended before the line began.</summary>
        public async Task<string?> ReadLineAsync(CancellationToken ct)
        {
            var line = new List<byte>();
            while (true)
            {
                for (; start < end; start++)
                {
                    var b = buffer[start];
                    if (b == (byte)'\n')
                    {
                        start++;
                        if (line.Count == 0 || line[^1] != (byte)'\r')
                        {
                            throw new Refusal(400, "a line ended by a bare LF");
                        }

                        line.RemoveAt(line.Count - 1);
                        if (line.Contains((byte)'\r'))
                        {
                            throw new Refusal(400, "a bare CR inside a line");
                        }

                        return Encoding.Latin1.GetString([.. line]);
                    }

                    line.Add(b);
                    if (line.Count > MaxLine)
                    {
                        throw new Refusal(431, $"a line longer than {MaxLine} bytes");
                    }
                }

                if (!await FillAsync(ct))
                {
                    return line.Count == 0 ? null : throw new IOException("the connection ended inside a line");
                }
            }
        }

        /// <summary>Exactly count bytes; null if the stream ended first.</summary>
        public async Task<byte[]?> ReadExactlyAsync(int count, CancellationToken ct)
        {
            var result = new byte[count];
            var filled = 0;
            while (filled < count)
            {
                if (start == end && !await FillAsync(ct))
                {
                    return null;
                }

                var take = Math.Min(count - filled, end - start);
                Buffer.BlockCopy(buffer, start, result, filled, take);
                start += take;
                filled += take;
            }

            return result;
        }

        private async Task<bool> FillAsync(CancellationToken ct)
        {
            start = 0;
            end = await stream.ReadAsync(buffer, ct);
            return end > 0;
        }
    }
}

using System.Net.Http.Json;
using Electrum.QrPayments.Contracts.Client;
using Electrum.QrPayments.Contracts.Json;

namespace Electrum.QrPayments.PartnerSimulator;

/// <summary>Drives a running simulator over HTTP: script its behaviour, read what it received, make it scan.</summary>
public sealed class SimulatorClient
{
    private readonly HttpClient http;

    public SimulatorClient(HttpClient http, Uri root, SimulatorOptions options)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(options);
        this.http = http;
        http.BaseAddress = root;
        http.DefaultRequestHeaders.Authorization = SimulatorApp.Auth(options);
    }

    public async Task SetAsync(Behaviour behaviour, string? operation = null, string? tranId = null)
    {
        var query = string.Join("&", new[] { operation is null ? null : $"operation={operation}", tranId is null ? null : $"tranId={tranId}" }.OfType<string>());
        using var content = JsonBody.Create(behaviour);
        using var response = await http.PutAsync(new Uri($"sim/behaviour?{query}", UriKind.Relative), content);
        response.EnsureSuccessStatusCode();
    }

    public async Task ResetAsync() => (await http.DeleteAsync(new Uri("sim/behaviour", UriKind.Relative))).EnsureSuccessStatusCode();

    public async Task<List<Received>> ReceivedAsync(string? operation = null) =>
        (await http.GetFromJsonAsync<List<Received>>(operation is null ? "sim/received" : $"sim/received?operation={operation}", QrJson.Options))!;

    /// <summary>Makes the simulator post a scan to the service; returns the service's status code.</summary>
    public async Task<int> ScanAsync(string tranId, string? partnerPaymentToken = null)
    {
        using var content = JsonBody.Create(new ScanCommand(tranId, partnerPaymentToken));
        using var response = await http.PostAsync(new Uri("sim/scans", UriKind.Relative), content);
        response.EnsureSuccessStatusCode();
        var result = await response.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>();
        return result.GetProperty("status").GetInt32();
    }
}

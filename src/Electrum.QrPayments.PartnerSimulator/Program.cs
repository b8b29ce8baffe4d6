using Electrum.QrPayments.PartnerSimulator;

// serve (default): run as a partner. demo: host the partner and run one whole lifecycle against the service.
var options = new SimulatorOptions();
var command = args.FirstOrDefault() is { } first && !first.StartsWith("--", StringComparison.Ordinal) ? first : "serve";
for (var i = 0; i + 1 < args.Length; i++)
{
    switch (args[i])
    {
        case "--urls": options.Urls = args[++i]; break;
        case "--service": options.ServiceBaseUrl = new Uri(args[++i]); break;
        case "--partner-id": options.PartnerId = args[++i]; break;
        case "--partner-secret": options.ServicePassword = args[++i]; break;
        case "--username": options.Username = args[++i]; break;
        case "--password": options.Password = args[++i]; break;
    }
}

string Arg(string name, string fallback) => Array.IndexOf(args, name) is var i and >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;

switch (command)
{
    case "demo":
        return await Demo.RunAsync(options, Arg("--client", "pos-1"), Arg("--client-secret", "pos-1-secret"), Console.Out);
    case "serve":
        await using (var app = SimulatorApp.Build(options))
        {
            Console.WriteLine($"Partner simulator '{options.PartnerId}' listening on {options.Urls}");
            await app.RunAsync();
        }

        return 0;
    default:
        Console.Error.WriteLine("usage: [serve|demo] [--urls URL] [--service URL] [--partner-id ID] [--partner-secret S] [--client ID] [--client-secret S]");
        return 2;
}

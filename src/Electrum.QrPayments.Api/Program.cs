using Electrum.QrPayments.Api;
using Electrum.QrPayments.Api.Web;

// `hash-secret [password]` prints the PBKDF2 hash to put in a Secret setting (reads stdin when no argument).
if (args.Length > 0 && args[0] == "hash-secret")
{
    var password = args.Length > 1 ? args[1] : Console.In.ReadLine();
    if (string.IsNullOrEmpty(password))
    {
        await Console.Error.WriteLineAsync("usage: hash-secret <password>   (or the password on standard input)");
        return 2;
    }

    Console.WriteLine(SecretHasher.Hash(password));
    return 0;
}

await QrPaymentsApp.Build(args).RunAsync();
return 0;

/// <summary>The entry point; public so tests can host it with WebApplicationFactory.</summary>
public partial class Program;

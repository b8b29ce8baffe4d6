using System.Net.Sockets;

namespace Electrum.QrPayments.Tests.Infrastructure;

public static class Loopback
{
    /// <summary>A loopback port free right now, for a process that must be told its port before it starts.</summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

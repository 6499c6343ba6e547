// Shared by the samples (linked into each project): a tiny "pod" that greets each connection with its
// name, and a client that asks who serves a connection. Loopback only.
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace FastProxy.Samples;

internal static class DemoPods
{
    /// <summary>Connects, reads the greeting and returns it: the name of the pod that served the connection.</summary>
    public static async Task<string> WhoServes(IPEndPoint endPoint, CancellationToken cancellationToken)
    {
        using var client = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(endPoint, cancellationToken);
        var buffer = new byte[64];
        var read = await client.ReceiveAsync(buffer, SocketFlags.None, cancellationToken);
        return Encoding.ASCII.GetString(buffer, 0, read);
    }

    /// <summary>Serves <paramref name="endPoint"/> until cancelled: every connection gets <paramref name="name"/>, then a close.</summary>
    public static async Task GreetingServer(string name, IPEndPoint endPoint, CancellationToken cancellationToken)
    {
        using var listener = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(endPoint);
        listener.Listen();
        var greeting = Encoding.ASCII.GetBytes(name);
        try
        {
            while (true)
            {
                using var connection = await listener.AcceptAsync(cancellationToken);
                await connection.SendAsync(greeting, SocketFlags.None, cancellationToken);
                connection.Shutdown(SocketShutdown.Both);
            }
        }
        catch (OperationCanceledException)
        {
            // This pod is over.
        }
    }
}

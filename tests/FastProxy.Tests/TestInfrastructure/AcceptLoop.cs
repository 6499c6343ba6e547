using System.Net.Sockets;

namespace FastProxy.Tests;

/// <summary>The accept loop of the tests' backends: accepts until stopped or the listener closes, handing each connection on.</summary>
internal static class AcceptLoop
{
    public static async Task RunAsync(Socket listener, Action<Socket> accepted, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            Socket connection;
            try
            {
                connection = await listener.AcceptAsync(stop);
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            accepted(connection);
        }
    }
}

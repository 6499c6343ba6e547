using System.Net;
using System.Net.Sockets;
using System.Text;

namespace FastProxy.Health.Tests;

/// <summary>A loopback HTTP server for health checks: answers every request with <see cref="Status"/> and records the paths asked.</summary>
internal sealed class HttpStatusBackend : IAsyncDisposable
{
    private readonly Socket _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private int _requests;

    private HttpStatusBackend(Socket listener)
    {
        _listener = listener;
        _loop = AcceptLoopAsync();
    }

    public IPEndPoint EndPoint => (IPEndPoint)_listener.LocalEndPoint!;

    public volatile int Status = 200;

    public int Requests => Volatile.Read(ref _requests);

    public string? LastPath { get; private set; }

    public static HttpStatusBackend Start(IPEndPoint endPoint)
    {
        var listener = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(endPoint);
        listener.Listen(64);
        return new HttpStatusBackend(listener);
    }

    private async Task AcceptLoopAsync()
    {
        while (true)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptAsync(_stop.Token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            using (client)
            {
                try
                {
                    var buffer = new byte[4096];
                    var length = 0;
                    while (length < buffer.Length && !Encoding.ASCII.GetString(buffer, 0, length).Contains("\r\n\r\n", StringComparison.Ordinal))
                    {
                        var read = await client.ReceiveAsync(buffer.AsMemory(length), SocketFlags.None, _stop.Token).AsTask().WaitAsync(TimeSpan.FromSeconds(5));
                        if (read == 0)
                        {
                            break;
                        }

                        length += read;
                    }

                    LastPath = Encoding.ASCII.GetString(buffer, 0, length).Split(' ')[1];
                    Interlocked.Increment(ref _requests);
                    await client.SendAsync(Encoding.ASCII.GetBytes($"HTTP/1.1 {Status} Status\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"), SocketFlags.None);
                    client.Shutdown(SocketShutdown.Send);
                }
                catch (Exception ex) when (ex is OperationCanceledException or SocketException or TimeoutException or IndexOutOfRangeException)
                {
                }
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Dispose();
        await _loop.WaitAsync(TimeSpan.FromSeconds(5));
        _stop.Dispose();
    }
}

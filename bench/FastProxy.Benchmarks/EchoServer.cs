using System.Buffers;
using System.Net;
using System.Net.Sockets;

namespace FastProxy.Benchmarks;

/// <summary>A loopback TCP echo backend; echoes until the client half-closes, then half-closes too.</summary>
internal sealed class EchoServer : IAsyncDisposable
{
    private readonly Socket _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accepting;

    private EchoServer(Socket listener)
    {
        _listener = listener;
        _accepting = AcceptLoop();
    }

    public IPEndPoint EndPoint => (IPEndPoint)_listener.LocalEndPoint!;

    public static EchoServer Start(IPEndPoint endPoint)
    {
        var listener = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(endPoint);
        listener.Listen(1024);
        return new EchoServer(listener);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Dispose();
        await _accepting.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _stop.Dispose();
    }

    private async Task AcceptLoop()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket connection;
            try
            {
                connection = await _listener.AcceptAsync(_stop.Token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            connection.NoDelay = true;
            _ = Echo(connection);
        }
    }

    private async Task Echo(Socket connection)
    {
        using (connection)
        {
            // Pooled, so a connection's own cost is not hidden under a 64 KiB array per echo.
            var buffer = ArrayPool<byte>.Shared.Rent(64 * 1024);
            try
            {
                while (true)
                {
                    var read = await connection.ReceiveAsync(buffer.AsMemory(), SocketFlags.None, _stop.Token);
                    if (read == 0)
                    {
                        connection.Shutdown(SocketShutdown.Send);
                        return;
                    }

                    await connection.SendAsync(buffer.AsMemory(0, read), SocketFlags.None, _stop.Token);
                }
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException)
            {
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }
    }
}

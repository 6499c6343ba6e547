using System.Net;
using System.Net.Sockets;
using System.Text;

namespace FastProxy.Tests;

/// <summary>A plain socket client with the few operations the proxy tests need; every wait is bounded.</summary>
internal sealed class TestClient : IAsyncDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);
    private readonly Socket _socket;

    private TestClient(Socket socket) => _socket = socket;

    public Socket Socket => _socket;

    /// <summary>Connects, from <paramref name="source"/> when given (a loopback address of the test's own, so the proxy sees a distinct client).</summary>
    public static async Task<TestClient> ConnectAsync(IPEndPoint endPoint, IPAddress? source = null)
    {
        var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            if (source is not null)
            {
                socket.Bind(new IPEndPoint(source, 0));
            }

            await socket.ConnectAsync(endPoint).WaitAsync(Timeout);
            return new TestClient(socket);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Connects and returns the backend's greeting line: the name of the pod that served the connection.</summary>
    public static async Task<string> WhoServesAsync(IPEndPoint endPoint, IPAddress? source = null)
    {
        await using var client = await ConnectAsync(endPoint, source);
        return await client.ReadLineAsync();
    }

    public async Task<string> ReadLineAsync()
    {
        var line = new StringBuilder();
        var one = new byte[1];
        while (true)
        {
            var read = await _socket.ReceiveAsync(one.AsMemory(), SocketFlags.None).AsTask().WaitAsync(Timeout);
            if (read == 0 || one[0] == '\n')
            {
                return line.ToString();
            }

            line.Append((char)one[0]);
        }
    }

    public async Task SendAsync(ReadOnlyMemory<byte> data)
    {
        while (!data.IsEmpty)
        {
            var sent = await _socket.SendAsync(data, SocketFlags.None).AsTask().WaitAsync(Timeout);
            data = data[sent..];
        }
    }

    /// <summary>Reads until the peer's FIN and returns everything read.</summary>
    public async Task<byte[]> ReadToEndAsync()
    {
        using var all = new MemoryStream();
        var buffer = new byte[64 * 1024];
        while (true)
        {
            var read = await _socket.ReceiveAsync(buffer.AsMemory(), SocketFlags.None).AsTask().WaitAsync(Timeout);
            if (read == 0)
            {
                return all.ToArray();
            }

            all.Write(buffer, 0, read);
        }
    }

    public async Task<byte[]> ReadExactlyAsync(int count)
    {
        var buffer = new byte[count];
        var filled = 0;
        while (filled < count)
        {
            var read = await _socket.ReceiveAsync(buffer.AsMemory(filled), SocketFlags.None).AsTask().WaitAsync(Timeout);
            if (read == 0)
            {
                throw new EndOfStreamException($"Connection closed after {filled} of {count} bytes.");
            }

            filled += read;
        }

        return buffer;
    }

    public void ShutdownSend() => _socket.Shutdown(SocketShutdown.Send);

    public ValueTask DisposeAsync()
    {
        _socket.Dispose();
        return ValueTask.CompletedTask;
    }
}

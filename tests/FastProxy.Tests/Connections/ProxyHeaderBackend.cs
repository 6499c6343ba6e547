using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace FastProxy.Connections.Tests;

/// <summary>
/// A backend that expects a PROXY protocol header, parsed here independently of the proxy's parser (v1 by
/// splitting the text line, v2 by reading the fixed layout). It answers <c>"{version} {source} {destination}\n"</c>
/// (or <c>"none"</c> when the connection did not start with a header) and then echoes.
/// </summary>
internal sealed class ProxyHeaderBackend : IAsyncDisposable
{
    private readonly Socket _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;

    private ProxyHeaderBackend(Socket listener)
    {
        _listener = listener;
        _loop = AcceptAsync();
    }

    public IPEndPoint EndPoint => (IPEndPoint)_listener.LocalEndPoint!;

    public static ProxyHeaderBackend Start(IPEndPoint endPoint)
    {
        var listener = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(endPoint);
        listener.Listen(64);
        return new ProxyHeaderBackend(listener);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Dispose();
        await _loop.WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _stop.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                var client = await _listener.AcceptAsync(_stop.Token);
                _ = ServeAsync(client);
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }
        }
    }

    private async Task ServeAsync(Socket client)
    {
        using (client)
        {
            try
            {
                var first = await ReadExactlyAsync(client, 1);
                string answer;
                if (first[0] == (byte)'P')
                {
                    var line = new StringBuilder("P");
                    while (!line.ToString().EndsWith("\r\n", StringComparison.Ordinal))
                    {
                        line.Append((char)(await ReadExactlyAsync(client, 1))[0]);
                    }

                    var fields = line.ToString().TrimEnd().Split(' ');
                    answer = fields[1] == "UNKNOWN" ? "v1 unknown" : $"v1 {fields[2]}:{fields[4]} {fields[3]}:{fields[5]}";
                }
                else if (first[0] == 0x0D)
                {
                    var fixedPart = await ReadExactlyAsync(client, 15);
                    var length = BinaryPrimitives.ReadUInt16BigEndian(fixedPart.AsSpan(13));
                    var block = await ReadExactlyAsync(client, length);
                    var command = fixedPart[11] & 0x0F;
                    var size = fixedPart[12] == 0x11 ? 4 : fixedPart[12] == 0x21 ? 16 : 0;
                    answer = command == 0 || size == 0 ? "v2 local"
                        : $"v2 {new IPEndPoint(new IPAddress(block.AsSpan(0, size)), BinaryPrimitives.ReadUInt16BigEndian(block.AsSpan(2 * size)))} "
                          + $"{new IPEndPoint(new IPAddress(block.AsSpan(size, size)), BinaryPrimitives.ReadUInt16BigEndian(block.AsSpan((2 * size) + 2)))}";
                }
                else
                {
                    answer = "none";
                    await client.SendAsync(Encoding.ASCII.GetBytes(answer + "\n"), SocketFlags.None, _stop.Token);
                    await client.SendAsync(first, SocketFlags.None, _stop.Token);
                    answer = string.Empty;
                }

                if (answer.Length > 0)
                {
                    await client.SendAsync(Encoding.ASCII.GetBytes(answer + "\n"), SocketFlags.None, _stop.Token);
                }

                var buffer = new byte[4096];
                while (true)
                {
                    var read = await client.ReceiveAsync(buffer, SocketFlags.None, _stop.Token);
                    if (read == 0)
                    {
                        return;
                    }

                    await client.SendAsync(buffer.AsMemory(0, read), SocketFlags.None, _stop.Token);
                }
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException or EndOfStreamException)
            {
            }
        }
    }

    private async Task<byte[]> ReadExactlyAsync(Socket socket, int count)
    {
        var buffer = new byte[count];
        var filled = 0;
        while (filled < count)
        {
            var read = await socket.ReceiveAsync(buffer.AsMemory(filled), SocketFlags.None, _stop.Token);
            if (read == 0)
            {
                throw new EndOfStreamException();
            }

            filled += read;
        }

        return buffer;
    }
}

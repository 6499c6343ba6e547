using System.Net;
using System.Net.Sockets;
using System.Text;

namespace FastProxy.Udp.Tests;

/// <summary>A UDP client socket on a chosen loopback source address; every wait is bounded.</summary>
internal sealed class UdpTestClient : IDisposable
{
    public static readonly TimeSpan ReplyTimeout = TimeSpan.FromSeconds(5);

    private readonly Socket _socket;
    private readonly byte[] _buffer = new byte[64 * 1024];

    public UdpTestClient(IPAddress source)
    {
        _socket = new Socket(source.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        _socket.Bind(new IPEndPoint(source, 0));
    }

    public IPEndPoint LocalEndPoint => (IPEndPoint)_socket.LocalEndPoint!;

    public ValueTask<int> SendAsync(IPEndPoint to, ReadOnlyMemory<byte> datagram) => _socket.SendToAsync(datagram, SocketFlags.None, to);

    /// <summary>The next datagram and who sent it; throws <see cref="TimeoutException"/> when none comes in time.</summary>
    public async Task<(byte[] Data, IPEndPoint From)> ReceiveAsync(TimeSpan? timeout = null)
    {
        using var cancel = new CancellationTokenSource(timeout ?? ReplyTimeout);
        try
        {
            var result = await _socket.ReceiveFromAsync(_buffer, SocketFlags.None, new IPEndPoint(IPAddress.Any, 0), cancel.Token);
            return (_buffer.AsSpan(0, result.ReceivedBytes).ToArray(), (IPEndPoint)result.RemoteEndPoint);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"No datagram reached {LocalEndPoint} within {(timeout ?? ReplyTimeout).TotalSeconds:0.#} s.");
        }
    }

    /// <summary>True when no datagram arrives within <paramref name="wait"/>.</summary>
    public async Task<bool> NothingArrivesAsync(TimeSpan wait)
    {
        try
        {
            await ReceiveAsync(wait);
            return false;
        }
        catch (TimeoutException)
        {
            return true;
        }
    }

    /// <summary>Asks <paramref name="service"/> which backend answers this client, and checks the answer came from the service address.</summary>
    public async Task<string> WhoAsync(IPEndPoint service)
    {
        await SendAsync(service, Encoding.ASCII.GetBytes(UdpEchoBackend.WhoQuery));
        var (data, from) = await ReceiveAsync();
        Assert.Equal(service, from);
        return Encoding.ASCII.GetString(data);
    }

    public void Dispose() => _socket.Dispose();
}

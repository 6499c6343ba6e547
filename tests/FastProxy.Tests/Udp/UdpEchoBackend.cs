using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace FastProxy.Udp.Tests;

/// <summary>
/// A real UDP backend "pod" on a loopback address: it echoes every datagram back to its sender, except
/// <see cref="WhoQuery"/>, which it answers with its name. It remembers the source addresses it saw.
/// </summary>
internal sealed class UdpEchoBackend : IAsyncDisposable
{
    public const string WhoQuery = "who?";

    private readonly Socket _socket;
    private readonly Task _loop;
    private readonly ConcurrentDictionary<IPEndPoint, int> _sources = new();
    private int _received;

    private UdpEchoBackend(string name, Socket socket)
    {
        Name = name;
        _socket = socket;
        _loop = EchoLoopAsync();
    }

    public string Name { get; }

    public IPEndPoint EndPoint => (IPEndPoint)_socket.LocalEndPoint!;

    /// <summary>Datagrams received.</summary>
    public int Received => Volatile.Read(ref _received);

    /// <summary>False stops recording <see cref="Sources"/> (a memory measurement must not count the backend's own bookkeeping).</summary>
    public bool RecordSources { get; set; } = true;

    /// <summary>The distinct source addresses and ports that sent to this backend (the proxy's upstream sockets).</summary>
    public ICollection<IPEndPoint> Sources => _sources.Keys;

    public static UdpEchoBackend Start(string name, IPEndPoint endPoint)
    {
        var socket = new Socket(endPoint.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(endPoint);
        return new UdpEchoBackend(name, socket);
    }

    private async Task EchoLoopAsync()
    {
        var buffer = new byte[64 * 1024];
        var name = Encoding.ASCII.GetBytes(Name);
        EndPoint any = new IPEndPoint(IPAddress.Any, 0);
        try
        {
            while (true)
            {
                var result = await _socket.ReceiveFromAsync(buffer, SocketFlags.None, any);
                Interlocked.Increment(ref _received);
                var from = (IPEndPoint)result.RemoteEndPoint;
                if (RecordSources)
                {
                    _sources.TryAdd(from, 0);
                }

                var isWho = result.ReceivedBytes == WhoQuery.Length && Encoding.ASCII.GetString(buffer, 0, WhoQuery.Length) == WhoQuery;
                await _socket.SendToAsync(isWho ? name : buffer.AsMemory(0, result.ReceivedBytes), SocketFlags.None, from);
            }
        }
        catch (Exception ex) when (ex is ObjectDisposedException or SocketException)
        {
            // Disposed: the loop ends.
        }
    }

    public async ValueTask DisposeAsync()
    {
        _socket.Dispose();
        await _loop.WaitAsync(TimeSpan.FromSeconds(10));
    }
}

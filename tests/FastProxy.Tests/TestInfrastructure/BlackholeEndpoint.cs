using System.Net;
using System.Net.Sockets;

namespace FastProxy.Tests;

/// <summary>
/// A loopback address:port where connects hang until they time out: a listener with an accept queue of
/// one that is already full and never accepted, so the kernel drops every further SYN, like a pod
/// that froze or a network path that lost its packets.
/// </summary>
internal sealed class BlackholeEndpoint : IDisposable
{
    private readonly Socket _listener;
    private readonly Socket _filler;

    public BlackholeEndpoint(IPEndPoint endPoint)
    {
        _listener = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        _listener.Bind(endPoint);
        _listener.Listen(0);
        _filler = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        _filler.Connect(endPoint);
    }

    public void Dispose()
    {
        _filler.Dispose();
        _listener.Dispose();
    }
}

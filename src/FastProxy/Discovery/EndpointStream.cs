using System.Net.Sockets;
using FastProxy.Model;

namespace FastProxy.Discovery;

/// <summary>
/// A direct connection to one endpoint that counts as one of the endpoint's open connections until it is
/// disposed, so least-connections pickers and the admin counters see in-process connections too.
/// </summary>
/// <remarks>
/// A <see cref="NetworkStream"/> itself, so every read and write keeps the socket stream's own fast paths;
/// only disposal is added. Bytes are not counted: they never pass through FastProxy.
/// </remarks>
internal sealed class EndpointStream : NetworkStream
{
    private readonly EndpointState _endpoint;
    private int _closed;

    public EndpointStream(Socket socket, EndpointState endpoint)
        : base(socket, ownsSocket: true)
    {
        _endpoint = endpoint;
    }

    protected override void Dispose(bool disposing)
    {
        // Dispose may be called more than once (Dispose, then DisposeAsync): the connection closes once.
        if (Interlocked.Exchange(ref _closed, 1) == 0)
        {
            _endpoint.OnConnectionClosed();
        }

        base.Dispose(disposing);
    }
}

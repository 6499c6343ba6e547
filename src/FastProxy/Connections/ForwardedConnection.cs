using FastProxy.Catalog;
using FastProxy.Listeners;
using FastProxy.Model;
using Microsoft.AspNetCore.Connections;

namespace FastProxy.Connections;

/// <summary>
/// One client connection forwarded to one endpoint, as the drain policy and the idle scan see it: registered
/// with its endpoint and with the server when forwarding starts, removed when it ends. One object per
/// connection; the copy loops only add to its byte counters (a plain add per read, one writer per direction),
/// which is all the idle scan needs to tell silence from traffic.
/// </summary>
internal sealed class ForwardedConnection
{
    private const int Open = 0;
    private const int Finished = -1;

    private readonly ConnectionContext _client;
    private readonly ConnectionContext _upstream;
    private long _bytesToEndpoint;
    private long _bytesFromEndpoint;
    private int _state;

    public ForwardedConnection(ConnectionContext client, ConnectionContext upstream, EndpointState endpoint, PortRoute route, ServiceListener? listener, TimeSpan idleTimeout, long now)
    {
        _client = client;
        _upstream = upstream;
        Endpoint = endpoint;
        Route = route;
        Listener = listener;
        IdleTimeout = idleTimeout;
        QuietSince = now;
    }

    public EndpointState Endpoint { get; }

    /// <summary>The route the connection was forwarded by: its service and that service's policy at the time.</summary>
    public PortRoute Route { get; }

    /// <summary>The listener that accepted the client; null when forwarded without one.</summary>
    public ServiceListener? Listener { get; }

    /// <summary>How long both directions may be silent; zero never.</summary>
    public TimeSpan IdleTimeout { get; }

    /// <summary>Bytes moved in both directions so far; any change means the connection is not idle.</summary>
    public long Activity => Volatile.Read(ref _bytesToEndpoint) + Volatile.Read(ref _bytesFromEndpoint);

    /// <summary>The activity the idle scan saw last (scan thread only).</summary>
    public long SeenActivity { get; set; }

    /// <summary>When the idle scan first saw the current activity, a <see cref="TimeProvider"/> timestamp (scan thread only).</summary>
    public long QuietSince { get; set; }

    /// <summary>Why the proxy reset it, if it did.</summary>
    public Termination TerminatedBy => _state > 0 ? (Termination)_state : Termination.None;

    /// <summary>Counts bytes forwarded in one direction, for the endpoint's totals and for the idle scan.</summary>
    public void AddBytes(bool toEndpoint, long count)
    {
        Endpoint.AddBytes(toEndpoint, count);

        // One writer per direction, so a plain add; the idle scan reads with a volatile read.
        if (toEndpoint)
        {
            _bytesToEndpoint += count;
        }
        else
        {
            _bytesFromEndpoint += count;
        }
    }

    /// <summary>Resets both sides, as a failed pod's connection would be; false when it had already ended or been reset.</summary>
    public bool Terminate(Termination reason, string message)
    {
        if (Interlocked.CompareExchange(ref _state, (int)reason, Open) != Open)
        {
            return false;
        }

        _client.Abort(new ConnectionAbortedException(message));
        _upstream.Abort(new ConnectionAbortedException(message));
        return true;
    }

    /// <summary>Forwarding ended: later terminations do nothing.</summary>
    public void Finish() => Interlocked.CompareExchange(ref _state, Finished, Open);
}

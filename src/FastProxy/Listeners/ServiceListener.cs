using FastProxy.Catalog;
using Microsoft.AspNetCore.Connections;

namespace FastProxy.Listeners;

/// <summary>
/// One bound virtual IP and port. Its <see cref="Route"/> is replaced in place when the service's
/// endpoints change, so unrelated changes never rebind the socket or touch its connections.
/// </summary>
internal sealed class ServiceListener
{
    private ServicePortSnapshot _route;

    public ServiceListener(ListenerKey key, ServicePortSnapshot route)
    {
        Key = key;
        _route = route;
    }

    public ListenerKey Key { get; }

    /// <summary>The forwarding state new connections use. Read once per connection; written by the control plane.</summary>
    public ServicePortSnapshot Route
    {
        get => Volatile.Read(ref _route);
        set => Volatile.Write(ref _route, value);
    }

    public IConnectionListener? Bound { get; set; }

    /// <summary>The middleware pipeline ending in the forwarder, built on first use.</summary>
    public ConnectionDelegate? Pipeline { get; set; }

    public Task AcceptLoop { get; set; } = Task.CompletedTask;

    /// <summary>Set when the listener was closed before its bind finished, so the bind is undone.</summary>
    public bool Closed { get; set; }
}

using System.Collections.Immutable;
using System.Net;
using System.Runtime.InteropServices;
using FastProxy.Catalog;
using Microsoft.AspNetCore.Connections;

namespace FastProxy.Listeners;

/// <summary>
/// One bound virtual IP and port. Its <see cref="Route"/> is replaced in place when the service's
/// endpoints change, so unrelated changes never rebind the socket or touch its connections.
/// </summary>
internal sealed class ServiceListener
{
    private PortRoute _route;
    private IPNetwork[]? _sourceRanges;

    public ServiceListener(ListenerKey key, PortRoute route, ImmutableArray<IPNetwork> sourceRanges)
    {
        Key = key;
        _route = route;
        _sourceRanges = RangesOrNull(sourceRanges);
    }

    public ListenerKey Key { get; }

    /// <summary>The forwarding state new connections use. Read once per connection; written by the control plane.</summary>
    public PortRoute Route => Volatile.Read(ref _route);

    /// <summary>Points the listener at a new version of its route and source ranges.</summary>
    public void Update(PortRoute route, ImmutableArray<IPNetwork> sourceRanges)
    {
        // Ranges first: a connection that sees the new route must not be admitted by the old ranges.
        Volatile.Write(ref _sourceRanges, RangesOrNull(sourceRanges));
        Volatile.Write(ref _route, route);
    }

    /// <summary>True when a client at <paramref name="remote"/> may connect: no source ranges, or one contains it.</summary>
    public bool Admits(EndPoint? remote)
    {
        // One plain read per accept: most listeners have no ranges.
        var ranges = Volatile.Read(ref _sourceRanges);
        if (ranges is null)
        {
            return true;
        }

        if (remote is not IPEndPoint { Address: var address })
        {
            return false;
        }

        // An IPv4 client reaching a dual-stack socket shows as ::ffff:a.b.c.d; ranges are written in IPv4.
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        foreach (var range in ranges)
        {
            if (range.Contains(address))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// The forwarded connections this listener accepted, for its service's drain policy when it is removed; closed
    /// by that policy, so a connection still in flight then (reading a PROXY header, connecting, queued) is caught
    /// when it registers, as an endpoint's set catches late ones.
    /// </summary>
    public Connections.ConnectionSet Connections { get; } = new();

    public IConnectionListener? Bound { get; set; }

    /// <summary>The middleware pipeline ending in the forwarder, built on first use.</summary>
    public ConnectionDelegate? Pipeline { get; set; }

    public Task AcceptLoop { get; set; } = Task.CompletedTask;

    /// <summary>Set (under the manager's lock) when the bind failed; the next reconcile of its service queues the bind again.</summary>
    public bool BindFailed { get; set; }

    /// <summary>Set when the listener was closed before its bind finished, so the bind is undone.</summary>
    public bool Closed { get; set; }

    private static IPNetwork[]? RangesOrNull(ImmutableArray<IPNetwork> ranges)
        => ranges.IsDefaultOrEmpty ? null : ImmutableCollectionsMarshal.AsArray(ranges);
}

using System.Collections.Immutable;
using System.Diagnostics.Metrics;
using System.Net;
using FastProxy.Catalog;
using FastProxy.Listeners;
using FastProxy.Model;
using Microsoft.Extensions.Logging;

namespace FastProxy.Forwarding.Udp;

/// <summary>
/// Keeps the UDP listeners equal to the catalog, service by service, on the addresses TCP uses: the
/// virtual IP (internal route), node ports and external IPs (external route), load-balancer addresses
/// (external route and source ranges). One <see cref="UdpSessionTable"/> per service holds the
/// sessions of all its UDP listeners; a sweep once a second ends the idle ones.
/// </summary>
/// <remarks>
/// Called by <see cref="ListenerManager"/> under its lock, in version order. Binding and closing a UDP
/// socket are quick system calls, so they happen right there: once the catalog's change event returns,
/// a new UDP address is listening and a removed one is closed.
/// </remarks>
internal sealed class UdpListenerSet : IDisposable
{
    /// <summary>How often idle sessions are looked for; a session ends between its timeout and this much later.</summary>
    public static readonly TimeSpan SweepInterval = TimeSpan.FromSeconds(1);

    private readonly Lock _gate = new();
    private readonly Dictionary<ListenerKey, UdpListener> _listeners = [];
    private readonly Dictionary<NamespacedName, ServiceEntry> _services = [];
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private ITimer? _sweep;
    private UdpSessionTable[] _tables = [];
    private bool _closed;

    public UdpListenerSet(TimeProvider time, ILogger logger, Meter meter)
    {
        _time = time;
        _logger = logger;
        UdpMetrics.Register(meter, () => Volatile.Read(ref _tables));
    }

    /// <summary>The UDP addresses bound now.</summary>
    public IReadOnlyList<EndPoint> BoundEndPoints
    {
        get
        {
            lock (_gate)
            {
                return _listeners.Values.Select(static l => l.BoundEndPoint).OfType<EndPoint>().ToArray();
            }
        }
    }

    /// <summary>The session table of service <paramref name="id"/>; null when it has no UDP port.</summary>
    public UdpSessionTable? TableOf(NamespacedName id)
    {
        lock (_gate)
        {
            return _services.TryGetValue(id, out var entry) ? entry.Table : null;
        }
    }

    /// <summary>Brings service <paramref name="id"/>'s UDP listeners to <paramref name="service"/> (null: the service is gone).</summary>
    public void Reconcile(NamespacedName id, ServiceSnapshot? service)
    {
        List<UdpSession>? ended = null;
        lock (_gate)
        {
            if (_closed)
            {
                return;
            }

            _services.TryGetValue(id, out var entry);
            var wanted = new List<ListenerKey>();
            if (service is not null && service.Ports.Any(static p => p.Port.Protocol == ServiceProtocol.Udp))
            {
                if (entry is null)
                {
                    entry = new ServiceEntry(new UdpSessionTable(id, service.Service.Udp, _time));
                    _services.Add(id, entry);

                    // Started with the first UDP service, so a proxy with none runs no timer.
                    _sweep ??= _time.CreateTimer(static state => ((UdpListenerSet)state!).Sweep(), this, SweepInterval, SweepInterval);
                }
                else if (!Equals(entry.Table.Policy, service.Service.Udp))
                {
                    entry.Table.Apply(service.Service.Udp);
                    ended = entry.Table.TakeOverCap();
                }

                foreach (var port in service.Ports)
                {
                    if (port.Port.Protocol != ServiceProtocol.Udp)
                    {
                        continue;
                    }

                    if (port.VirtualEndPoint is { } virtualEndPoint)
                    {
                        Want(wanted, entry.Table, virtualEndPoint, port.Internal, []);
                    }

                    foreach (var endPoint in port.NodePortEndPoints.Concat(port.ExternalEndPoints))
                    {
                        Want(wanted, entry.Table, endPoint, port.External, []);
                    }

                    foreach (var endPoint in port.LoadBalancerEndPoints)
                    {
                        Want(wanted, entry.Table, endPoint, port.External, service.Service.LoadBalancerSourceRanges);
                    }
                }
            }

            if (entry is null)
            {
                return;
            }

            foreach (var key in entry.Keys)
            {
                // A listener another service took over in this version is that service's now.
                if (!wanted.Contains(key) && _listeners.TryGetValue(key, out var gone) && ReferenceEquals(gone.Table, entry.Table))
                {
                    _listeners.Remove(key);
                    Close(gone);
                }
            }

            entry.Keys = wanted;
            if (wanted.Count == 0)
            {
                _services.Remove(id);
            }

            Volatile.Write(ref _tables, [.. _services.Values.Select(static e => e.Table)]);
        }

        EndAll(ended, UdpSessionEnd.Evicted);
    }

    /// <summary>Closes every listener and session; the set takes no more changes.</summary>
    public void CloseAll()
    {
        lock (_gate)
        {
            if (_closed)
            {
                return;
            }

            _closed = true;
            _sweep?.Dispose();
            foreach (var listener in _listeners.Values)
            {
                Close(listener);
            }

            _listeners.Clear();
            _services.Clear();
            Volatile.Write(ref _tables, []);
        }
    }

    public void Dispose() => CloseAll();

    /// <summary>Ends the sessions idle for their service's timeout. Runs on the timer, once a second.</summary>
    internal void Sweep()
    {
        var now = _time.GetTimestamp();
        foreach (var table in Volatile.Read(ref _tables))
        {
            var expired = table.TakeExpired(now);
            if (expired is null)
            {
                continue;
            }

            foreach (var session in expired)
            {
                session.Close();
                table.Counters.SessionEnded(UdpSessionEnd.Expired);
            }
        }
    }

    /// <summary>Listens on <paramref name="endPoint"/> for the route, keeping an existing listener of the same service.</summary>
    private void Want(List<ListenerKey> wanted, UdpSessionTable table, IPEndPoint endPoint, PortRoute route, ImmutableArray<IPNetwork> sourceRanges)
    {
        var key = new ListenerKey(ServiceProtocol.Udp, endPoint);
        if (wanted.Contains(key))
        {
            return;
        }

        wanted.Add(key);
        if (_listeners.TryGetValue(key, out var listener))
        {
            if (ReferenceEquals(listener.Table, table))
            {
                listener.Update(route, sourceRanges);
                if (!listener.IsBound)
                {
                    // Its bind failed before: this change of its service retries it.
                    TryBind(listener);
                }

                return;
            }

            // The address moved here from another service in one batch: its sessions belong to the other.
            Close(listener);
        }

        listener = new UdpListener(key, route, sourceRanges, table, _time, _logger);
        _listeners[key] = listener;
        TryBind(listener);
    }

    private void TryBind(UdpListener listener)
    {
        try
        {
            listener.Bind();
        }
        catch (System.Net.Sockets.SocketException ex)
        {
            // The rest of the catalog keeps serving; a later change to this service retries the bind.
            UdpLog.BindFailed(_logger, listener.Key, listener.Table.ServiceLabel, ex);
        }
    }

    private static void Close(UdpListener listener) => EndAll(listener.Close(), UdpSessionEnd.Closed);

    private static void EndAll(List<UdpSession>? sessions, UdpSessionEnd reason)
    {
        if (sessions is null)
        {
            return;
        }

        foreach (var session in sessions)
        {
            session.Close();
            session.Listener.Table.Counters.SessionEnded(reason);
        }
    }

    private sealed class ServiceEntry(UdpSessionTable table)
    {
        public UdpSessionTable Table { get; } = table;

        public List<ListenerKey> Keys { get; set; } = [];
    }
}

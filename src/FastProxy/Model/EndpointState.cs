using System.Net;
using ConnectionSet = FastProxy.Connections.ConnectionSet;

namespace FastProxy.Model;

/// <summary>
/// One backend address of one service port, with the counters that outlive snapshot rebuilds:
/// the catalog hands the same instance to every snapshot for as long as the endpoint stays in the
/// service, so active-connection counts and traffic totals survive unrelated changes.
/// </summary>
public sealed class EndpointState
{
    private long _activeConnections;
    private long _totalConnections;
    private long _failedConnects;
    private long _bytesToEndpoint;
    private long _bytesFromEndpoint;
    private bool _removed;
    private int _weight;
    private long _connectsStarted;
    private Balancing.LeastLoadTree.Leaf? _loadLeaf;
    private Balancing.LeastLoadTree.Leaf? _otherRouteLoadLeaf;
    private int _conditions;
    private string _portName;
    private string? _label;
    private string? _serviceLabel;
    private int _health;
    private Health.EndpointHealthTracker? _healthTracker;
    private ConnectionSet? _connections;

    internal EndpointState(NamespacedName service, string portName, IPEndPoint endPoint, NamespacedName? pod, int weight = 1, ServicePortLoad? load = null, EndpointPlacement placement = default, EndpointConditions? conditions = null)
    {
        Placement = placement;
        _conditions = Pack(conditions ?? EndpointConditions.ReadyAndServing);
        Service = service;
        _portName = portName;
        EndPoint = endPoint;
        Pod = pod;
        _weight = weight;
        Load = load ?? new ServicePortLoad();
    }

    /// <summary>The service this endpoint belongs to.</summary>
    public NamespacedName Service { get; }

    /// <summary>The name of the service port this endpoint serves (empty for an unnamed single port).</summary>
    public string PortName => Volatile.Read(ref _portName);

    /// <summary>The pod address and resolved target port connections go to.</summary>
    public IPEndPoint EndPoint { get; }

    /// <summary>The pod behind this endpoint, when it came from a selector.</summary>
    public NamespacedName? Pod { get; }

    /// <summary>The endpoint's conditions: whether it takes new connections, answers, or is shutting down.</summary>
    public EndpointConditions Conditions
    {
        get
        {
            var bits = Volatile.Read(ref _conditions);
            return new EndpointConditions((bits & 1) != 0, (bits & 2) != 0, (bits & 4) != 0);
        }
    }

    /// <summary>
    /// Whether active health checks or outlier detection keep new connections away from the endpoint.
    /// An unhealthy endpoint stays in <see cref="Catalog.ServicePortSnapshot.AllEndpoints"/> with its counters;
    /// it leaves the routes, unless the route is in panic (<see cref="Catalog.PortRoute.InPanic"/>).
    /// </summary>
    public EndpointHealth Health => (EndpointHealth)Volatile.Read(ref _health);

    /// <summary>The node the endpoint runs on; null when unknown.</summary>
    public string? NodeName => Placement.NodeName;

    /// <summary>The zone the endpoint runs in; null when unknown.</summary>
    public string? Zone => Placement.Zone;

    /// <summary>The endpoint's DNS host name in a headless service; null when none.</summary>
    public string? Hostname => Placement.Hostname;

    /// <summary>Where the endpoint runs and its DNS name: part of its identity, unlike its conditions.</summary>
    internal EndpointPlacement Placement { get; }

    /// <summary>The endpoint's relative share for weighted strategies (the pod's weight), 1-10000. Defaults to 1.</summary>
    public int Weight => Volatile.Read(ref _weight);

    /// <summary>
    /// True once the endpoint has left its service (pod removed, unready, relabelled, or the port
    /// changed). A removed endpoint takes no new connections; affinity entries to it are dropped.
    /// </summary>
    public bool IsRemoved => Volatile.Read(ref _removed);

    /// <summary>
    /// Connections to this endpoint that are open or still connecting. Counting a connection from the
    /// moment it is picked keeps load-aware strategies from sending a burst of new connections to the
    /// same endpoint while their connects are in flight.
    /// </summary>
    public long ActiveConnections => Volatile.Read(ref _activeConnections);

    /// <summary>Connections forwarded to this endpoint since it appeared (connects that succeeded).</summary>
    public long TotalConnections => Volatile.Read(ref _totalConnections);

    /// <summary>Connect attempts to this endpoint that failed or timed out.</summary>
    public long FailedConnects => Volatile.Read(ref _failedConnects);

    /// <summary>Bytes forwarded from clients to this endpoint.</summary>
    public long BytesToEndpoint => Volatile.Read(ref _bytesToEndpoint);

    /// <summary>Bytes forwarded from this endpoint back to clients.</summary>
    public long BytesFromEndpoint => Volatile.Read(ref _bytesFromEndpoint);

    /// <summary>All open connections of this endpoint's service port, shared by its endpoints.</summary>
    internal ServicePortLoad Load { get; }

    /// <summary>Connects started to this endpoint (successful, failed and in flight): least-connections' tie-breaker.</summary>
    internal long ConnectsStarted => Volatile.Read(ref _connectsStarted);

    /// <summary>
    /// A connection was picked for this endpoint and its connect starts: counted as open from now on, without a
    /// limit (see <see cref="TryOnConnecting"/> for the per-endpoint limit).
    /// </summary>
    internal void OnConnecting()
    {
        Interlocked.Increment(ref _activeConnections);
        OnConnectStarted();
    }

    /// <summary>
    /// Like <see cref="OnConnecting"/>, but only while fewer than <paramref name="limit"/> connections are open or
    /// connecting (the per-endpoint connection limit); the check and the count are one atomic step. A limit of 0
    /// or less is no limit, as the connection policy writes it.
    /// </summary>
    internal bool TryOnConnecting(long limit)
    {
        if (limit <= 0)
        {
            OnConnecting();
            return true;
        }

        while (true)
        {
            var current = Volatile.Read(ref _activeConnections);
            if (current >= limit)
            {
                return false;
            }

            if (Interlocked.CompareExchange(ref _activeConnections, current + 1, current) == current)
            {
                OnConnectStarted();
                return true;
            }
        }
    }

    /// <summary>The forwarded connections open to this endpoint, for its service's drain policy; made on first use.</summary>
    internal ConnectionSet Connections
        => Volatile.Read(ref _connections) ?? Interlocked.CompareExchange(ref _connections, new ConnectionSet(), null) ?? _connections;

    private void OnConnectStarted()
    {
        Interlocked.Increment(ref _connectsStarted);
        Load.Add(1);
        Volatile.Read(ref _loadLeaf)?.Update();
        Volatile.Read(ref _otherRouteLoadLeaf)?.Update();
    }

    internal void OnConnected()
    {
        Interlocked.Increment(ref _totalConnections);
        _healthTracker?.OnConnected();
    }

    internal void OnConnectFailed()
    {
        Interlocked.Increment(ref _failedConnects);
        _healthTracker?.OnConnectFailed();
        OnConnectionClosed();
    }

    /// <summary>
    /// The health engine's per-endpoint state while its service checks health; null otherwise, so the
    /// forwarder's health hooks cost one field read when health is off.
    /// </summary>
    internal Health.EndpointHealthTracker? HealthTracker
    {
        get => Volatile.Read(ref _healthTracker);
        set => Volatile.Write(ref _healthTracker, value);
    }

    /// <summary>Sets or clears one reason of <see cref="Health"/>; returns false when it already was so.</summary>
    internal bool SetHealth(EndpointHealth flag, bool on)
    {
        while (true)
        {
            var current = Volatile.Read(ref _health);
            var next = on ? current | (int)flag : current & ~(int)flag;
            if (next == current)
            {
                return false;
            }

            if (Interlocked.CompareExchange(ref _health, next, current) == current)
            {
                return true;
            }
        }
    }

    internal void OnConnectionClosed()
    {
        Interlocked.Decrement(ref _activeConnections);
        Load.Add(-1);
        Volatile.Read(ref _loadLeaf)?.Update();
        Volatile.Read(ref _otherRouteLoadLeaf)?.Update();
    }

    /// <summary>
    /// A least-connections picker over a set holding this endpoint keeps a tree of loads: report count
    /// changes there. An endpoint is in at most two routes (its port's internal and external ones), so
    /// it reports to at most two trees; a third registration replaces the second.
    /// </summary>
    internal void TrackLoadIn(Balancing.LeastLoadTree.Leaf leaf)
    {
        if (Volatile.Read(ref _loadLeaf) is null)
        {
            Volatile.Write(ref _loadLeaf, leaf);
        }
        else
        {
            Volatile.Write(ref _otherRouteLoadLeaf, leaf);
        }
    }

    /// <summary>The pickers of this endpoint's routes are being replaced: report count changes nowhere until new ones register.</summary>
    internal void StopTrackingLoad()
    {
        Volatile.Write(ref _loadLeaf, null);
        Volatile.Write(ref _otherRouteLoadLeaf, null);
    }

    internal bool IsLoadTracked => Volatile.Read(ref _loadLeaf) is not null;

    internal void MarkRemoved() => Volatile.Write(ref _removed, true);

    /// <summary>The service port was renamed (naming the only port when adding a second): the endpoint stays.</summary>
    internal void Rename(string portName) => Volatile.Write(ref _portName, portName);

    /// <summary>The endpoint's conditions changed: the endpoint (its counters, its affinity entries) stays, routes are rebuilt.</summary>
    internal void SetConditions(EndpointConditions conditions) => Volatile.Write(ref _conditions, Pack(conditions));

    // One int, so readers on other threads never see half of an update.
    private static int Pack(EndpointConditions conditions)
        => (conditions.Ready ? 1 : 0) | (conditions.Serving ? 2 : 0) | (conditions.Terminating ? 4 : 0);

    /// <summary>The pod's weight changed: the endpoint (its counters, its affinity entries) stays, pickers are rebuilt.</summary>
    internal void SetWeight(int weight) => Volatile.Write(ref _weight, weight);

    /// <summary>Counts bytes forwarded to the endpoint (<paramref name="toEndpoint"/>) or from it.</summary>
    internal void AddBytes(bool toEndpoint, long count) =>
        Interlocked.Add(ref toEndpoint ? ref _bytesToEndpoint : ref _bytesFromEndpoint, count);

    /// <summary>The endpoint as metrics name it (<c>address:port</c>), made once.</summary>
    internal string Label => _label ??= EndPoint.ToString();

    /// <summary>The service as metrics name it (<c>namespace/name</c>), made once.</summary>
    internal string ServiceLabel => _serviceLabel ??= Service.ToString();

    /// <summary>Returns <c>service:port -> address:port</c>.</summary>
    public override string ToString() => $"{Service}:{PortName} -> {EndPoint}";
}

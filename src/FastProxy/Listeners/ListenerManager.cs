using System.Collections.Immutable;
using System.Net;
using System.Threading.Channels;
using FastProxy.Catalog;
using FastProxy.Model;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging;

namespace FastProxy.Listeners;

/// <summary>
/// Keeps the bound listeners equal to the catalog: opens what is new, closes what is gone, and swaps
/// the route of listeners whose endpoints changed without touching their sockets or connections.
/// Route swaps happen synchronously when a version is published, so a removed pod takes no new
/// connection once the catalog call returns; binds and unbinds run in order on one background loop.
/// </summary>
internal sealed partial class ListenerManager : IAsyncDisposable
{
    private readonly Lock _gate = new();
    private readonly Dictionary<ListenerKey, ServiceListener> _listeners = [];
    private readonly Dictionary<NamespacedName, List<ListenerKey>> _keysByService = [];
    private readonly HashSet<ServiceListener> _bound = [];

    private readonly List<(long Version, TaskCompletionSource Done)> _versionWaiters = [];
    private readonly Channel<Work> _work = Channel.CreateUnbounded<Work>(new UnboundedChannelOptions { SingleReader = true });
    private readonly IConnectionListenerFactory _factory;
    private readonly Action<ConnectionContext, ServiceListener, bool> _onConnection;
    private readonly ILogger _logger;
    private readonly Diagnostics.ProxyMetrics _metrics;
    private readonly Forwarding.Udp.UdpListenerSet? _udp;
    private readonly Task _worker;
    private long _routedVersion = -1;
    private long _boundVersion = -1;

    // Told when a listener is removed (not at shutdown), so its open connections follow their service's drain policy.
    private readonly Action<ServiceListener>? _onRemoved;

    public ListenerManager(IConnectionListenerFactory factory, Action<ConnectionContext, ServiceListener, bool> onConnection, ILogger logger, Diagnostics.ProxyMetrics metrics, Action<ServiceListener>? onRemoved = null, Forwarding.Udp.UdpListenerSet? udp = null)
    {
        _onRemoved = onRemoved;
        _udp = udp;
        _metrics = metrics;
        _factory = factory;
        _onConnection = onConnection;
        _logger = logger;
        _worker = Task.Run(ProcessWorkAsync);
    }

    /// <summary>The endpoints currently bound: a listener shows here from its bind until its socket is closed.</summary>
    public IReadOnlyList<EndPoint> BoundEndPoints
    {
        get
        {
            lock (_gate)
            {
                return _bound.Select(static l => l.Bound!.EndPoint).ToArray();
            }
        }
    }

    /// <summary>Reconciles every service against <paramref name="current"/>, which must be read inside this call's ordering (see ProxyServer.StartAsync).</summary>
    public void ApplyAll(Func<CatalogSnapshot> current)
    {
        lock (_gate)
        {
            // Read inside the lock: a version published meanwhile is either seen here or delivered
            // afterwards by the catalog's event, never applied out of order.
            Reconcile(current(), everyService: true);
        }
    }

    /// <summary>Reconciles the services one published version changed.</summary>
    public void ApplyChanges(CatalogSnapshot snapshot)
    {
        lock (_gate)
        {
            // A version we were not told about (a missed notification) may have changed other services: reconcile them all.
            Reconcile(snapshot, everyService: snapshot.Version != _routedVersion + 1);
        }
    }

    /// <summary>Routes a version newer than the last one routed: every service, or only those it changed. Called under the lock.</summary>
    private void Reconcile(CatalogSnapshot snapshot, bool everyService)
    {
        if (snapshot.Version <= _routedVersion)
        {
            return;
        }

        var services = everyService ? _keysByService.Keys.Union(snapshot.Services.Keys).ToArray() : (IEnumerable<NamespacedName>)snapshot.ChangedServices;
        foreach (var id in services)
        {
            ReconcileService(id, snapshot);
        }

        _routedVersion = snapshot.Version;
        _work.Writer.TryWrite(Work.VersionDone(snapshot.Version));
    }

    /// <summary>Completes when the listeners reflect catalog version <paramref name="version"/> or later (binds included).</summary>
    public Task WhenAppliedAsync(long version, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (Volatile.Read(ref _boundVersion) >= version)
            {
                return Task.CompletedTask;
            }

            var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _versionWaiters.Add((version, done));
            return done.Task.WaitAsync(cancellationToken);
        }
    }

    /// <summary>Closes every listener (no new connections); open connections are the server's to drain.</summary>
    public async Task CloseAllAsync()
    {
        lock (_gate)
        {
            foreach (var listener in _listeners.Values)
            {
                listener.Closed = true;
                _work.Writer.TryWrite(Work.Close(listener));
            }

            _listeners.Clear();
            _keysByService.Clear();
            _udp?.CloseAll();
            _work.Writer.TryComplete();
        }

        await _worker.ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync() => await CloseAllAsync().ConfigureAwait(false);

    private void ReconcileService(NamespacedName id, CatalogSnapshot snapshot)
    {
        // UDP ports have their own listeners and sessions (Forwarding/Udp), on the same addresses.
        _udp?.Reconcile(id, snapshot.TryGetService(id, out var udpService) ? udpService : null);
        _keysByService.Remove(id, out var oldKeys);
        List<ListenerKey>? newKeys = null;
        if (snapshot.TryGetService(id, out var service))
        {
            newKeys = [];
            foreach (var port in service.Ports)
            {
                if (port.Port.Protocol != ServiceProtocol.Tcp)
                {
                    continue;
                }

                if (port.VirtualEndPoint is { } virtualEndPoint)
                {
                    Route(newKeys, new ListenerKey(port.Port.Protocol, virtualEndPoint), port.Internal, []);
                }

                foreach (var endPoint in port.NodePortEndPoints)
                {
                    Route(newKeys, new ListenerKey(port.Port.Protocol, endPoint), port.External, []);
                }

                foreach (var endPoint in port.ExternalEndPoints)
                {
                    Route(newKeys, new ListenerKey(port.Port.Protocol, endPoint), port.External, []);
                }

                foreach (var endPoint in port.LoadBalancerEndPoints)
                {
                    Route(newKeys, new ListenerKey(port.Port.Protocol, endPoint), port.External, service.Service.LoadBalancerSourceRanges);
                }
            }

            _keysByService[id] = newKeys;
        }

        if (oldKeys is null)
        {
            return;
        }

        foreach (var key in oldKeys)
        {
            // A listener another service took over in this version (an address moved between services in one
            // batch, the taker reconciled first) follows its new owner's route: it is not this service's to close.
            if ((newKeys is null || !newKeys.Contains(key)) && _listeners.TryGetValue(key, out var gone) && gone.Route.Service == id)
            {
                _listeners.Remove(key);
                gone.Closed = true;
                _work.Writer.TryWrite(Work.Close(gone));
                _onRemoved?.Invoke(gone);
            }
        }
    }

    /// <summary>Points the listener at <paramref name="key"/> to <paramref name="route"/>, opening it when new.</summary>
    private void Route(List<ListenerKey> keys, ListenerKey key, PortRoute route, ImmutableArray<IPNetwork> sourceRanges)
    {
        if (keys.Contains(key))
        {
            return;
        }

        keys.Add(key);
        if (_listeners.TryGetValue(key, out var listener))
        {
            listener.Update(route, sourceRanges);
            if (listener.BindFailed)
            {
                // Its bind failed before: this change of its service retries it.
                listener.BindFailed = false;
                _work.Writer.TryWrite(Work.Open(listener));
            }
        }
        else
        {
            listener = new ServiceListener(key, route, sourceRanges);
            _listeners.Add(key, listener);
            _work.Writer.TryWrite(Work.Open(listener));
        }
    }

    private async Task ProcessWorkAsync()
    {
        await foreach (var work in _work.Reader.ReadAllAsync().ConfigureAwait(false))
        {
            switch (work.Kind)
            {
                case WorkKind.Open:
                    await OpenAsync(work.Listener!).ConfigureAwait(false);
                    break;
                case WorkKind.Close:
                    await CloseAsync(work.Listener!).ConfigureAwait(false);
                    break;
                case WorkKind.VersionDone:
                    CompleteWaiters(work.Version);
                    break;
            }
        }

        CompleteWaiters(long.MaxValue);
    }

    private async Task OpenAsync(ServiceListener listener)
    {
        if (listener.Closed)
        {
            return;
        }

        var service = listener.Route.Service.ToString();
        try
        {
            var bound = await _factory.BindAsync(listener.Key.EndPoint).ConfigureAwait(false);
            listener.Bound = bound;
            listener.AcceptLoop = AcceptLoopAsync(listener, bound);
            lock (_gate)
            {
                _bound.Add(listener);
            }

            Log.ListenerStarted(_logger, listener.Key, service);
        }
        catch (Exception ex)
        {
            // The rest of the catalog keeps serving; a later change to this service retries the bind.
            lock (_gate)
            {
                listener.BindFailed = true;
            }

            Log.ListenerBindFailed(_logger, listener.Key, service, ex);
        }
    }

    private async Task CloseAsync(ServiceListener listener)
    {
        if (listener.Bound is not { } bound)
        {
            return;
        }

        await bound.UnbindAsync().ConfigureAwait(false);
        await listener.AcceptLoop.ConfigureAwait(false);
        await bound.DisposeAsync().ConfigureAwait(false);
        lock (_gate)
        {
            _bound.Remove(listener);
        }

        listener.Bound = null;
        Log.ListenerStopped(_logger, listener.Key);
    }

    private async Task AcceptLoopAsync(ServiceListener listener, IConnectionListener bound)
    {
        try
        {
            while (await bound.AcceptAsync().ConfigureAwait(false) is { } connection)
            {
                if (listener.Closed)
                {
                    // Removed: refused from the moment its service changed, not only once the worker has unbound it.
                    connection.Abort(new ConnectionAbortedException("The listener was removed."));
                    _ = connection.DisposeAsync().AsTask();
                    continue;
                }

                // With the PROXY protocol the real client is only known from its header: ranges are checked after it is
                // read. Decided once and handed on, so a policy flipped meanwhile cannot skip both checks.
                var readProxyHeader = listener.Route.Policy.AcceptProxyProtocol;
                if (!readProxyHeader && !listener.Admits(connection.RemoteEndPoint))
                {
                    // loadBalancerSourceRanges: refused before a byte is read or forwarded (a reset, not a FIN).
                    Log.SourceRefused(_logger, connection.RemoteEndPoint, listener.Key);
                    _metrics.SourceRefused(listener.Route);
                    connection.Abort(new ConnectionAbortedException("Client address outside the service's loadBalancerSourceRanges."));
                    _ = connection.DisposeAsync().AsTask();
                    continue;
                }

                _onConnection(connection, listener, readProxyHeader);
            }
        }
        catch (Exception ex) when (!listener.Closed)
        {
            Log.AcceptLoopFailed(_logger, listener.Key, ex);
        }
        catch (Exception)
        {
            // Unbinding while an accept is pending may surface as an exception: that is the normal end.
        }
    }

    private void CompleteWaiters(long version)
    {
        lock (_gate)
        {
            if (version != long.MaxValue)
            {
                Volatile.Write(ref _boundVersion, version);
            }

            for (var i = _versionWaiters.Count - 1; i >= 0; i--)
            {
                if (_versionWaiters[i].Version <= version)
                {
                    _versionWaiters[i].Done.TrySetResult();
                    _versionWaiters.RemoveAt(i);
                }
            }
        }
    }

    private enum WorkKind
    {
        Open,
        Close,
        VersionDone,
    }

    private readonly record struct Work(WorkKind Kind, ServiceListener? Listener, long Version)
    {
        public static Work Open(ServiceListener listener) => new(WorkKind.Open, listener, 0);

        public static Work Close(ServiceListener listener) => new(WorkKind.Close, listener, 0);

        public static Work VersionDone(long version) => new(WorkKind.VersionDone, null, version);
    }
}

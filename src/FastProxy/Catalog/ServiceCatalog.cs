using System.Collections.Immutable;
using System.Net;
using System.Net.Sockets;
using FastProxy.Affinity;
using FastProxy.Balancing;
using FastProxy.Model;
using Microsoft.Extensions.Primitives;

namespace FastProxy.Catalog;

/// <summary>
/// The desired state (services and pods) and its published result. Writers are serialised by a lock
/// on the control plane; readers take <see cref="Current"/>, one volatile reference, and never lock.
/// Each applied update recomputes only the services it touches and publishes a new version.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001", Justification = "The token source is disposed as soon as it fires; a catalog lives as long as its process and holds nothing else to release.")]
public sealed class ServiceCatalog
{
    private readonly Lock _gate = new();
    private readonly BalancingStrategyRegistry _strategies;
    private readonly ClusterIPAllocator _allocator;
    private readonly int _affinityCapacity;
    private readonly TimeProvider _time;

    // Desired state, guarded by _gate. Indexed by namespace so a pod change only scans the services of its own namespace.
    private readonly Dictionary<string, Dictionary<string, Service>> _servicesByNamespace = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Dictionary<string, Pod>> _podsByNamespace = new(StringComparer.Ordinal);
    private readonly Dictionary<NamespacedName, IPAddress> _clusterIPs = [];
    private readonly Dictionary<IPAddress, NamespacedName> _clusterIPOwners = [];

    private CatalogSnapshot _current;
    private CancellationTokenSource _changeTokenSource = new();

    /// <summary>Creates an empty catalog.</summary>
    /// <param name="options">Settings; defaults apply when null.</param>
    public ServiceCatalog(ServiceCatalogOptions? options = null)
    {
        options ??= new ServiceCatalogOptions();
        _strategies = new BalancingStrategyRegistry(options.Strategies);
        _allocator = new ClusterIPAllocator(options.ServiceCidr);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.SessionAffinityCapacity, 1, nameof(options.SessionAffinityCapacity));
        _affinityCapacity = options.SessionAffinityCapacity;
        _time = options.TimeProvider ?? throw new ArgumentException("TimeProvider must not be null.", nameof(options));
        _current = new CatalogSnapshot(0, ImmutableDictionary<NamespacedName, ServiceSnapshot>.Empty, []);
    }

    /// <summary>Raised after each new version is published, in version order, on the thread that applied the update. Keep handlers short.</summary>
    public event EventHandler<CatalogChangedEventArgs>? Changed;

    /// <summary>The latest published version. Reading it never blocks.</summary>
    public CatalogSnapshot Current => Volatile.Read(ref _current);

    /// <summary>The range virtual IPs are allocated from.</summary>
    public IPNetwork ServiceCidr => _allocator.Cidr;

    /// <summary>Returns a token that fires when the next version is published.</summary>
    public IChangeToken GetChangeToken()
    {
        lock (_gate)
        {
            return new CancellationChangeToken(_changeTokenSource.Token);
        }
    }

    /// <summary>Adds or replaces a service and publishes the result.</summary>
    /// <param name="service">The service.</param>
    /// <returns>The published version.</returns>
    /// <exception cref="CatalogValidationException">The service is invalid; nothing changed.</exception>
    public CatalogSnapshot SetService(Service service) => Apply(new CatalogUpdate().SetService(service));

    /// <summary>Removes a service and publishes the result.</summary>
    /// <param name="id">The service's namespace and name.</param>
    /// <returns>The published version.</returns>
    public CatalogSnapshot RemoveService(NamespacedName id) => Apply(new CatalogUpdate().RemoveService(id));

    /// <summary>Adds or replaces a pod and publishes the result.</summary>
    /// <param name="pod">The pod.</param>
    /// <returns>The published version.</returns>
    /// <exception cref="CatalogValidationException">The pod is invalid; nothing changed.</exception>
    public CatalogSnapshot SetPod(Pod pod) => Apply(new CatalogUpdate().SetPod(pod));

    /// <summary>Removes a pod and publishes the result.</summary>
    /// <param name="id">The pod's namespace and name.</param>
    /// <returns>The published version.</returns>
    public CatalogSnapshot RemovePod(NamespacedName id) => Apply(new CatalogUpdate().RemovePod(id));

    /// <summary>
    /// Validates a batch of changes whole and, when valid, applies it and publishes one new version.
    /// An invalid batch changes nothing: the last good state keeps serving.
    /// </summary>
    /// <param name="update">The changes.</param>
    /// <returns>The published version, or the current one when the batch changed nothing.</returns>
    /// <exception cref="CatalogValidationException">Some change is invalid; nothing changed.</exception>
    public CatalogSnapshot Apply(CatalogUpdate update)
    {
        ArgumentNullException.ThrowIfNull(update);
        lock (_gate)
        {
            // 1. Fold the batch: the last change to an object wins.
            var serviceChanges = new Dictionary<NamespacedName, Service?>();
            var podChanges = new Dictionary<NamespacedName, Pod?>();
            foreach (var change in update.Changes)
            {
                switch (change.Kind)
                {
                    case CatalogUpdate.ChangeKind.SetService: serviceChanges[change.Id] = change.Service; break;
                    case CatalogUpdate.ChangeKind.RemoveService: serviceChanges[change.Id] = null; break;
                    case CatalogUpdate.ChangeKind.SetPod: podChanges[change.Id] = change.Pod; break;
                    case CatalogUpdate.ChangeKind.RemovePod: podChanges[change.Id] = null; break;
                }
            }

            // 2. Validate every object and stage virtual IPs, before anything is mutated.
            var errors = new List<ValidationError>();
            foreach (var service in serviceChanges.Values)
            {
                if (service is not null)
                {
                    ObjectValidator.ValidateService(service, _strategies, errors);
                }
            }

            foreach (var pod in podChanges.Values)
            {
                if (pod is not null)
                {
                    ObjectValidator.ValidatePod(pod, errors);
                }
            }

            var stagedIPs = errors.Count == 0 ? StageClusterIPs(serviceChanges, errors) : null;
            if (errors.Count > 0)
            {
                throw new CatalogValidationException(errors);
            }

            // 3. Commit the desired state and collect the services whose endpoints may change.
            var affected = new HashSet<NamespacedName>();
            foreach (var (id, service) in serviceChanges)
            {
                CommitService(id, service, stagedIPs!);
                affected.Add(id);
            }

            foreach (var (id, pod) in podChanges)
            {
                CommitPod(id, pod, affected);
            }

            // 4. Rebuild the affected services, reusing endpoint state and pickers that did not change.
            var previous = _current;
            var services = previous.Services.ToBuilder();
            var changed = ImmutableArray.CreateBuilder<NamespacedName>();
            foreach (var id in affected.OrderBy(static id => id.ToString(), StringComparer.Ordinal))
            {
                previous.Services.TryGetValue(id, out var before);
                var after = BuildService(id, before);
                if (ReferenceEquals(before, after))
                {
                    continue;
                }

                if (after is null)
                {
                    services.Remove(id);
                }
                else
                {
                    services[id] = after;
                }

                changed.Add(id);
            }

            if (changed.Count == 0)
            {
                return previous;
            }

            // 5. Publish with one reference swap, then signal; readers that loaded the old version keep using it.
            var next = new CatalogSnapshot(previous.Version + 1, services.ToImmutable(), changed.ToImmutable());
            Volatile.Write(ref _current, next);
            var fired = _changeTokenSource;
            _changeTokenSource = new CancellationTokenSource();
            fired.Cancel();
            fired.Dispose();
            RetireRemovedEndpoints(previous, next);
            Changed?.Invoke(this, new CatalogChangedEventArgs(next));
            return next;
        }
    }

    private Dictionary<NamespacedName, IPAddress> StageClusterIPs(Dictionary<NamespacedName, Service?> serviceChanges, List<ValidationError> errors)
    {
        var staged = new Dictionary<NamespacedName, IPAddress>();
        var stagedOwners = new Dictionary<IPAddress, NamespacedName>();

        // An address is free for `id` unless the batch gives it to another service, or another service
        // holds it and the batch neither removes that service nor moves it elsewhere.
        bool IsTakenByOther(IPAddress address, NamespacedName id)
        {
            if (stagedOwners.TryGetValue(address, out var stagedOwner))
            {
                return stagedOwner != id;
            }

            if (!_clusterIPOwners.TryGetValue(address, out var owner) || owner == id)
            {
                return false;
            }

            return !serviceChanges.TryGetValue(owner, out var ownerChange)
                || (ownerChange is not null && (ownerChange.ClusterIP is null || ownerChange.ClusterIP.Equals(address)));
        }

        // Explicit addresses first, so an allocation in the same batch cannot take one of them.
        foreach (var (id, service) in serviceChanges.OrderBy(static c => c.Value?.ClusterIP is null))
        {
            if (service is null)
            {
                continue;
            }

            var subject = $"service {id}";
            IPAddress? address = service.ClusterIP;
            if (address is not null)
            {
                if (address.AddressFamily is not (AddressFamily.InterNetwork or AddressFamily.InterNetworkV6)
                    || address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any))
                {
                    errors.Add(new(subject, "spec.clusterIP", $"must be a unicast IP address, got {address}"));
                    continue;
                }

                if (IsTakenByOther(address, id))
                {
                    var owner = stagedOwners.TryGetValue(address, out var o) ? o : _clusterIPOwners[address];
                    errors.Add(new(subject, "spec.clusterIP", $"{address} is already allocated to service {owner}"));
                    continue;
                }
            }
            else if (!_clusterIPs.TryGetValue(id, out address) || IsTakenByOther(address, id))
            {
                address = _allocator.Allocate(id, candidate => IsTakenByOther(candidate, id));
                if (address is null)
                {
                    errors.Add(new(subject, "spec.clusterIP", $"no free address left in the service CIDR {_allocator.Cidr}"));
                    continue;
                }
            }

            staged[id] = address;
            stagedOwners[address] = id;
        }

        return staged;
    }

    private void CommitService(NamespacedName id, Service? service, Dictionary<NamespacedName, IPAddress> stagedIPs)
    {
        if (_clusterIPs.Remove(id, out var oldAddress) && _clusterIPOwners.TryGetValue(oldAddress, out var owner) && owner == id)
        {
            _clusterIPOwners.Remove(oldAddress);
        }

        if (service is null)
        {
            if (_servicesByNamespace.TryGetValue(id.Namespace, out var inNamespace) && inNamespace.Remove(id.Name) && inNamespace.Count == 0)
            {
                _servicesByNamespace.Remove(id.Namespace);
            }

            return;
        }

        var address = stagedIPs[id];
        _clusterIPs[id] = address;
        _clusterIPOwners[address] = id;
        GetOrAdd(_servicesByNamespace, id.Namespace)[id.Name] = service;
    }

    private void CommitPod(NamespacedName id, Pod? pod, HashSet<NamespacedName> affected)
    {
        _podsByNamespace.TryGetValue(id.Namespace, out var pods);
        Pod? old = null;
        pods?.TryGetValue(id.Name, out old);

        // Both the old and the new labels matter: a relabel leaves one service and joins another.
        if (_servicesByNamespace.TryGetValue(id.Namespace, out var services))
        {
            foreach (var service in services.Values)
            {
                var selector = service.Selector;
                if (selector is not null && ((old is not null && selector.Matches(old.Labels)) || (pod is not null && selector.Matches(pod.Labels))))
                {
                    affected.Add(service.Id);
                }
            }
        }

        if (pod is null)
        {
            if (pods is not null && pods.Remove(id.Name) && pods.Count == 0)
            {
                _podsByNamespace.Remove(id.Namespace);
            }
        }
        else
        {
            GetOrAdd(_podsByNamespace, id.Namespace)[id.Name] = pod;
        }
    }

    private ServiceSnapshot? BuildService(NamespacedName id, ServiceSnapshot? before)
    {
        if (!_servicesByNamespace.TryGetValue(id.Namespace, out var services) || !services.TryGetValue(id.Name, out var service))
        {
            return null;
        }

        var address = _clusterIPs[id];
        var selected = SelectPods(service);
        var ports = ImmutableArray.CreateBuilder<ServicePortSnapshot>(service.Ports.Length);
        var unchanged = before is not null && ReferenceEquals(before.Service, service) && before.ClusterIP.Equals(address);
        for (var i = 0; i < service.Ports.Length; i++)
        {
            var port = service.Ports[i];
            var previous = before?.Ports.FirstOrDefault(p => p.Port == port);
            var load = previous?.Load ?? new ServicePortLoad();
            var endpoints = BuildEndpoints(id, port, selected, previous, load, out var weightsChanged);
            var sameBalancing = before is not null && string.Equals(before.Service.Balancer, service.Balancer, StringComparison.OrdinalIgnoreCase);
            if (previous is not null && !weightsChanged && sameBalancing && SameAffinity(previous.Affinity, service)
                && previous.VirtualEndPoint.Address.Equals(address) && previous.Endpoints.SequenceEqual(endpoints))
            {
                // Same endpoints and settings: keep the picker, and with it any state it carries (a round-robin cursor).
                ports.Add(previous);
                continue;
            }

            unchanged = false;
            // A picker that tracks loads (least-connections' tree) re-registers its endpoints; any other must
            // not leave them feeding the tree of a picker that is being replaced.
            foreach (var endpoint in endpoints)
            {
                endpoint.TrackLoadIn(null);
            }

            var picker = endpoints.IsEmpty ? null : _strategies.TryGet(service.Balancer, out var strategy)
                ? strategy.CreatePicker(endpoints)
                : throw new InvalidOperationException($"Strategy '{service.Balancer}' vanished after validation.");

            // Affinity entries survive endpoint changes (entries to a removed endpoint drop out on lookup).
            var affinity = service.SessionAffinity != SessionAffinity.ClientIP ? null
                : SameAffinity(previous?.Affinity, service) ? previous!.Affinity
                : new SessionAffinityTable(service.SessionAffinityTimeout, _affinityCapacity, _time);
            ports.Add(new ServicePortSnapshot(id, port, new IPEndPoint(address, port.Port), endpoints, picker, load, affinity));
        }

        return unchanged && before!.Ports.Length == ports.Count ? before : new ServiceSnapshot(service, address, ports.MoveToImmutable());
    }

    private static bool SameAffinity(SessionAffinityTable? table, Service service)
        => service.SessionAffinity == SessionAffinity.ClientIP
            ? table is not null && table.Timeout == service.SessionAffinityTimeout
            : table is null;

    /// <summary>Flags the endpoints that left (so affinity drops them); endpoints that stayed are the same instances.</summary>
    private static void RetireRemovedEndpoints(CatalogSnapshot previous, CatalogSnapshot next)
    {
        foreach (var id in next.ChangedServices)
        {
            if (!previous.Services.TryGetValue(id, out var before))
            {
                continue;
            }

            var kept = new HashSet<EndpointState>(ReferenceEqualityComparer.Instance);
            if (next.Services.TryGetValue(id, out var after))
            {
                foreach (var port in after.Ports)
                {
                    kept.UnionWith(port.Endpoints);
                }
            }

            foreach (var port in before.Ports)
            {
                foreach (var endpoint in port.Endpoints)
                {
                    if (!kept.Contains(endpoint))
                    {
                        endpoint.MarkRemoved();
                    }
                }
            }
        }
    }

    private List<Pod> SelectPods(Service service)
    {
        var selected = new List<Pod>();
        if (service.Selector is { IsEmpty: false } selector && _podsByNamespace.TryGetValue(service.Namespace, out var pods))
        {
            foreach (var pod in pods.Values)
            {
                if (pod.Ready && selector.Matches(pod.Labels))
                {
                    selected.Add(pod);
                }
            }
        }

        return selected;
    }

    private static ImmutableArray<EndpointState> BuildEndpoints(NamespacedName service, ServicePort port, List<Pod> pods, ServicePortSnapshot? previous, ServicePortLoad load, out bool weightsChanged)
    {
        weightsChanged = false;
        if (pods.Count == 0)
        {
            return [];
        }

        // Endpoint state (connection counts, traffic totals) carries over while the endpoint stays.
        Dictionary<IPEndPoint, EndpointState>? existing = null;
        if (previous is not null && !previous.Endpoints.IsEmpty && previous.Port == port)
        {
            existing = previous.Endpoints.ToDictionary(static e => e.EndPoint);
        }

        var endpoints = new EndpointState[pods.Count];
        for (var i = 0; i < pods.Count; i++)
        {
            var endPoint = new IPEndPoint(pods[i].Address, port.EffectiveTargetPort);
            if (existing is not null && existing.TryGetValue(endPoint, out var state) && state.Pod == pods[i].Id)
            {
                // The same endpoint, so its counters and affinity entries carry on; a new weight only rebuilds the picker.
                if (state.Weight != pods[i].Weight)
                {
                    state.SetWeight(pods[i].Weight);
                    weightsChanged = true;
                }

                endpoints[i] = state;
            }
            else
            {
                endpoints[i] = new EndpointState(service, port.Name, endPoint, pods[i].Id, pods[i].Weight, load);
            }
        }

        Array.Sort(endpoints, EndpointOrder.Instance);
        return ImmutableArray.Create(endpoints);
    }

    private static Dictionary<string, T> GetOrAdd<T>(Dictionary<string, Dictionary<string, T>> index, string key)
    {
        if (!index.TryGetValue(key, out var inner))
        {
            inner = new Dictionary<string, T>(StringComparer.Ordinal);
            index[key] = inner;
        }

        return inner;
    }

    /// <summary>Orders endpoints by address bytes, then port, then pod, so picker order does not depend on insertion order.</summary>
    private sealed class EndpointOrder : IComparer<EndpointState>
    {
        public static readonly EndpointOrder Instance = new();

        public int Compare(EndpointState? x, EndpointState? y)
        {
            if (ReferenceEquals(x, y))
            {
                return 0;
            }

            if (x is null || y is null)
            {
                return x is null ? -1 : 1;
            }

            var byFamily = x.EndPoint.AddressFamily.CompareTo(y.EndPoint.AddressFamily);
            if (byFamily != 0)
            {
                return byFamily;
            }

            Span<byte> a = stackalloc byte[16];
            Span<byte> b = stackalloc byte[16];
            x.EndPoint.Address.TryWriteBytes(a, out var lengthA);
            y.EndPoint.Address.TryWriteBytes(b, out var lengthB);
            var byAddress = a[..lengthA].SequenceCompareTo(b[..lengthB]);
            if (byAddress != 0)
            {
                return byAddress;
            }

            var byPort = x.EndPoint.Port.CompareTo(y.EndPoint.Port);
            return byPort != 0 ? byPort : Nullable.Compare(x.Pod, y.Pod);
        }
    }
}

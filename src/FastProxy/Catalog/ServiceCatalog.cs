using System.Collections.Frozen;
using System.Collections.Immutable;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using FastProxy.Affinity;
using FastProxy.Balancing;
using FastProxy.Listeners;
using FastProxy.Model;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Primitives;

namespace FastProxy.Catalog;

/// <summary>
/// The desired state (services and pods) and its published result. Writers are serialised by a lock
/// on the control plane; readers take <see cref="Current"/>, one volatile reference, and never lock.
/// Each applied update recomputes only the services it touches and publishes a new version.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001", Justification = "The token source is disposed as soon as it fires; a catalog lives as long as its process and holds nothing else to release.")]
public sealed partial class ServiceCatalog
{
    private readonly Lock _gate = new();
    private readonly BalancingStrategyRegistry _strategies;
    private readonly ClusterIPAllocator _allocator;
    private readonly int _affinityCapacity;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;

    // Desired state, guarded by _gate. Indexed by namespace so a pod change only scans the services of its own namespace.
    private readonly Dictionary<string, Dictionary<string, Service>> _servicesByNamespace = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Dictionary<string, Pod>> _podsByNamespace = new(StringComparer.Ordinal);
    private readonly Dictionary<NamespacedName, IPAddress> _clusterIPs = [];
    private readonly Dictionary<IPAddress, NamespacedName> _clusterIPOwners = [];

    // Selectors and labels indexed by pair, so a pod change finds its services and a service its pods
    // without scanning the namespace.
    private readonly SelectorIndex _podLabels = new();
    private readonly SelectorIndex _serviceSelectors = new();

    // Each service is indexed under one pair of its selector, the least shared when it was indexed: a pod
    // that matches carries every pair, so one is enough to find the service, and the rarest keeps the
    // services sharing a common pair (tier=backend) out of every pod change's candidates.
    private readonly Dictionary<NamespacedName, KeyValuePair<string, string>> _serviceIndexPairs = [];

    // Explicit endpoints: slices by the service they name, core/v1 Endpoints by their (service's) name.
    private readonly Dictionary<NamespacedName, EndpointSlice> _slices = [];
    private readonly Dictionary<NamespacedName, Dictionary<string, EndpointSlice>> _slicesByService = [];
    private readonly Dictionary<NamespacedName, Endpoints> _endpointsObjects = [];

    // Every address:port a service listens on besides its VIP (all node ports under one wildcard key per
    // number), with its owner, so two services never claim the same one.
    private readonly Dictionary<ListenerKey, NamespacedName> _claims = [];
    private readonly Dictionary<NamespacedName, ListenerKey[]> _claimsByService = [];

    // Address claims (not node ports) by protocol and port: what a node port on a wildcard node address collides with.
    private readonly Dictionary<(ServiceProtocol, int), HashSet<ListenerKey>> _addressClaimsByPort = [];

    // Service ports with their node ports filled in, as published.
    private readonly Dictionary<NamespacedName, ImmutableArray<ServicePort>> _resolvedPorts = [];
    private readonly Dictionary<NamespacedName, int> _healthCheckNodePorts = [];
    private readonly ImmutableArray<IPAddress> _nodeAddresses;
    private readonly string? _nodeName;
    private readonly string? _zone;

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
        _logger = (options.LoggerFactory ?? NullLoggerFactory.Instance).CreateLogger<ServiceCatalog>();
        _nodeAddresses = [.. options.NodeAddresses];
        _nodeName = options.NodeName;
        _zone = options.Zone;
        _current = new CatalogSnapshot(0, ImmutableDictionary<NamespacedName, ServiceSnapshot>.Empty, []);
    }

    /// <summary>
    /// Raised after each new version is published, in version order, on the thread that applied the update.
    /// Keep handlers short and do not change the catalog from one (that throws). A handler that throws is
    /// logged (<see cref="ServiceCatalogOptions.LoggerFactory"/>) and keeps neither the other handlers nor the update from happening.
    /// </summary>
    public event EventHandler<CatalogChangedEventArgs>? Changed;

    /// <summary>The latest published version. Reading it never blocks.</summary>
    public CatalogSnapshot Current => Volatile.Read(ref _current);

    /// <summary>The catalog's clock (<see cref="ServiceCatalogOptions.TimeProvider"/>); a server following the catalog times drains, queues and idle connections by it.</summary>
    internal TimeProvider Time => _time;

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
        if (_gate.IsHeldByCurrentThread)
        {
            // The lock would let this thread in again and the nested version would be announced before the
            // one being announced, out of order: subscribers must not write from inside a notification.
            throw new InvalidOperationException("The catalog cannot be changed from inside its own Changed event or change-token callback; queue the change and apply it afterwards.");
        }

        lock (_gate)
        {
            // 1. Fold the batch: the last change to an object wins.
            var serviceChanges = new Dictionary<NamespacedName, Service?>();
            var podChanges = new Dictionary<NamespacedName, Pod?>();
            var sliceChanges = new Dictionary<NamespacedName, EndpointSlice?>();
            var endpointsChanges = new Dictionary<NamespacedName, Endpoints?>();
            foreach (var change in update.Changes)
            {
                switch (change.Kind)
                {
                    case CatalogUpdate.ChangeKind.SetService: serviceChanges[change.Id] = change.Service; break;
                    case CatalogUpdate.ChangeKind.RemoveService: serviceChanges[change.Id] = null; break;
                    case CatalogUpdate.ChangeKind.SetPod: podChanges[change.Id] = change.Pod; break;
                    case CatalogUpdate.ChangeKind.RemovePod: podChanges[change.Id] = null; break;
                    case CatalogUpdate.ChangeKind.SetEndpointSlice: sliceChanges[change.Id] = change.Slice; break;
                    case CatalogUpdate.ChangeKind.RemoveEndpointSlice: sliceChanges[change.Id] = null; break;
                    case CatalogUpdate.ChangeKind.SetEndpoints: endpointsChanges[change.Id] = change.Endpoints; break;
                    case CatalogUpdate.ChangeKind.RemoveEndpoints: endpointsChanges[change.Id] = null; break;
                }
            }

            // 2. Validate every object, stage virtual IPs and node ports, before anything is mutated.
            var errors = new List<ValidationError>();
            foreach (var service in serviceChanges.Values.OfType<Service>())
            {
                ObjectValidator.ValidateService(service, _strategies, errors);
            }

            foreach (var pod in podChanges.Values.OfType<Pod>())
            {
                ObjectValidator.ValidatePod(pod, errors);
            }

            foreach (var slice in sliceChanges.Values.OfType<EndpointSlice>())
            {
                ObjectValidator.ValidateEndpointSlice(slice, errors);
            }

            foreach (var endpoints in endpointsChanges.Values.OfType<Endpoints>())
            {
                ObjectValidator.ValidateEndpoints(endpoints, errors);
            }

            var stagedIPs = errors.Count == 0 ? StageClusterIPs(serviceChanges, errors) : null;
            var stagedListeners = errors.Count == 0 ? StageListeners(serviceChanges, stagedIPs!, errors) : null;
            if (errors.Count > 0)
            {
                throw new CatalogValidationException(errors);
            }

            // 3. Commit the desired state and collect the services whose endpoints may change.
            var affected = new HashSet<NamespacedName>();
            foreach (var (id, service) in serviceChanges)
            {
                CommitService(id, service, stagedIPs!, stagedListeners!);
                affected.Add(id);
            }

            foreach (var (id, pod) in podChanges)
            {
                CommitPod(id, pod, affected);
            }

            foreach (var (id, slice) in sliceChanges)
            {
                CommitSlice(id, slice, affected);
            }

            foreach (var (id, endpoints) in endpointsChanges)
            {
                CommitEndpoints(id, endpoints, affected);
            }

            return Publish(affected);
        }
    }

    /// <summary>
    /// Steps 4 and 5 of an update, also run alone when only endpoint health changed (<see cref="RefreshRoutes"/>):
    /// rebuilds the affected services and publishes a new version if any changed. Called under the lock.
    /// </summary>
    private CatalogSnapshot Publish(HashSet<NamespacedName> affected)
    {
        // 4. Rebuild the affected services, reusing endpoint state and routes that did not change.
        var previous = _current;
        var services = previous.Services.ToBuilder();
        var changed = ImmutableArray.CreateBuilder<NamespacedName>();
        var updatedEndpoints = new Dictionary<NamespacedName, List<EndpointState>>();
        foreach (var id in affected.OrderBy(static id => id.ToString(), StringComparer.Ordinal))
        {
            previous.Services.TryGetValue(id, out var before);
            var updated = new List<EndpointState>();
            var after = BuildService(id, before, updated);
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
            updatedEndpoints[id] = updated;
        }

        if (changed.Count == 0)
        {
            return previous;
        }

        // 5. Publish with one reference swap, then signal; readers that loaded the old version keep using it.
        var next = new CatalogSnapshot(previous.Version + 1, services.ToImmutable(), changed.ToImmutable());
        Volatile.Write(ref _current, next);
        var changes = DescribeChanges(previous, next, updatedEndpoints);
        var fired = _changeTokenSource;
        _changeTokenSource = new CancellationTokenSource();
        Notify(fired, next, changes);
        return next;
    }

    /// <summary>
    /// Tells the change token's callbacks and every <see cref="Changed"/> handler, each on its own: one that
    /// throws is logged and does not keep the others (the proxy's listeners among them) from this version.
    /// </summary>
    private void Notify(CancellationTokenSource fired, CatalogSnapshot next, ImmutableArray<ServiceChange> changes)
    {
        try
        {
            fired.Cancel();
        }
        catch (AggregateException ex)
        {
            Log.ChangeSubscriberFailed(_logger, next.Version, ex);
        }
        finally
        {
            fired.Dispose();
        }

        if (Changed is not { } handlers)
        {
            return;
        }

        var args = new CatalogChangedEventArgs(next, changes);
        foreach (var handler in handlers.GetInvocationList().Cast<EventHandler<CatalogChangedEventArgs>>())
        {
            try
            {
                handler(this, args);
            }
#pragma warning disable CA1031 // A subscriber's failure is its own; the update has been applied.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                Log.ChangeSubscriberFailed(_logger, next.Version, ex);
            }
        }
    }

    private static bool HasVirtualIP(Service service) => !service.Headless && service.Type != ServiceType.ExternalName;

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
                || (ownerChange is not null && HasVirtualIP(ownerChange) && (ownerChange.ClusterIP is null || ownerChange.ClusterIP.Equals(address)));
        }

        // Explicit addresses first, so an allocation in the same batch cannot take one of them.
        foreach (var (id, service) in serviceChanges.OrderBy(static c => c.Value?.ClusterIP is null))
        {
            if (service is null || !HasVirtualIP(service))
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

    /// <summary>
    /// Resolves node ports (the given ones, the ones allocated before, else new ones) and checks that no
    /// address:port a changed service listens on is another service's.
    /// </summary>
    private Dictionary<NamespacedName, StagedListeners> StageListeners(Dictionary<NamespacedName, Service?> serviceChanges, Dictionary<NamespacedName, IPAddress> stagedIPs, List<ValidationError> errors)
    {
        var staged = new Dictionary<NamespacedName, StagedListeners>();
        var stagedClaims = new Dictionary<ListenerKey, NamespacedName>();
        var stagedByPort = new Dictionary<(ServiceProtocol, int), List<ListenerKey>>();

        // Claims of services in this batch are staged anew (or released); only the others keep theirs.
        bool IsHeldByOther(ListenerKey key, NamespacedName id, out NamespacedName owner)
            => stagedClaims.TryGetValue(key, out owner)
                ? owner != id
                : _claims.TryGetValue(key, out owner) && owner != id && !serviceChanges.ContainsKey(owner);

        // A node port listens on every node address, so it collides with any address:port claim on a node
        // address at that port (every address, when a node address is a wildcard), and the other way round.
        bool IsClaimedByOther(ListenerKey key, NamespacedName id, out NamespacedName owner)
        {
            if (IsHeldByOther(key, id, out owner))
            {
                return true;
            }

            if (!IsNodePortKey(key))
            {
                return IsNodeAddress(key.EndPoint.Address) && IsHeldByOther(NodePortKey(key.Protocol, key.EndPoint.Port), id, out owner);
            }

            if (_nodeAddresses.Any(IsWildcard))
            {
                var byPort = (key.Protocol, key.EndPoint.Port);
                var candidates = (stagedByPort.TryGetValue(byPort, out var staged) ? staged : [])
                    .Concat(_addressClaimsByPort.TryGetValue(byPort, out var committed) ? committed : []);
                foreach (var other in candidates)
                {
                    if (IsHeldByOther(other, id, out owner))
                    {
                        return true;
                    }
                }

                return false;
            }

            foreach (var address in _nodeAddresses)
            {
                if (IsHeldByOther(new ListenerKey(key.Protocol, new IPEndPoint(address, key.EndPoint.Port)), id, out owner))
                {
                    return true;
                }
            }

            return false;
        }

        bool TryClaim(NamespacedName id, ListenerKey key, string field, string what, List<ListenerKey> claims)
        {
            if (IsClaimedByOther(key, id, out var owner))
            {
                errors.Add(new($"service {id}", field, $"{what} is already {(IsNodePortKey(key) ? "allocated to" : "used by")} service {owner}"));
                return false;
            }

            stagedClaims[key] = id;
            if (!IsNodePortKey(key))
            {
                (CollectionsMarshal.GetValueRefOrAddDefault(stagedByPort, (key.Protocol, key.EndPoint.Port), out _) ??= []).Add(key);
            }

            if (!claims.Contains(key))
            {
                claims.Add(key);
            }

            return true;
        }

        // Explicit addresses and node ports first, so an allocation in the same batch cannot take one of them.
        var pending = new List<(NamespacedName Id, Service Service, ServicePort[] Ports, List<ListenerKey> Claims)>();
        foreach (var (id, service) in serviceChanges)
        {
            if (service is null || service.Type == ServiceType.ExternalName || service.Ports.IsDefaultOrEmpty)
            {
                continue;
            }

            var ports = service.Ports.ToArray();
            if (service.Headless)
            {
                // Nothing listens for a headless service (see ListenersOf): it claims nothing.
                staged[id] = new StagedListeners([.. ports], []);
                continue;
            }

            var claims = new List<ListenerKey>();
            stagedIPs.TryGetValue(id, out var address);
            for (var i = 0; i < ports.Length; i++)
            {
                var port = ports[i];
                if (address is not null)
                {
                    TryClaim(id, new ListenerKey(port.Protocol, new IPEndPoint(address, port.Port)), "spec.clusterIP", $"{address}:{port.Port}/{port.Protocol}", claims);
                }

                for (var j = 0; j < service.ExternalIPs.Length; j++)
                {
                    TryClaim(id, new ListenerKey(port.Protocol, new IPEndPoint(service.ExternalIPs[j], port.Port)), $"spec.externalIPs[{j}]", $"{service.ExternalIPs[j]}:{port.Port}/{port.Protocol}", claims);
                }

                if (service.Type == ServiceType.LoadBalancer)
                {
                    if (service.LoadBalancerIP is { } loadBalancerIP)
                    {
                        TryClaim(id, new ListenerKey(port.Protocol, new IPEndPoint(loadBalancerIP, port.Port)), "spec.loadBalancerIP", $"{loadBalancerIP}:{port.Port}/{port.Protocol}", claims);
                    }

                    for (var j = 0; j < service.LoadBalancerIngress.Length; j++)
                    {
                        TryClaim(id, new ListenerKey(port.Protocol, new IPEndPoint(service.LoadBalancerIngress[j], port.Port)), $"status.loadBalancer.ingress[{j}].ip", $"{service.LoadBalancerIngress[j]}:{port.Port}/{port.Protocol}", claims);
                    }
                }

                if (UsesNodePorts(service) && port.NodePort != 0)
                {
                    TryClaim(id, NodePortKey(port.Protocol, port.NodePort), $"spec.ports[{i}].nodePort", $"{port.NodePort}/{port.Protocol}", claims);
                }
            }

            if (NeedsHealthCheckNodePort(service) && service.HealthCheckNodePort != 0)
            {
                ClaimHealthCheckNodePort(id, service.HealthCheckNodePort, claims, TryClaim, errors);
            }

            pending.Add((id, service, ports, claims));
        }

        foreach (var (id, service, ports, claims) in pending)
        {
            for (var i = 0; i < ports.Length && UsesNodePorts(service); i++)
            {
                var port = ports[i];
                if (port.NodePort != 0)
                {
                    continue;
                }

                // Keep the number allocated before while it is free, so an unrelated edit never moves a node port.
                var kept = _resolvedPorts.TryGetValue(id, out var resolved)
                    ? resolved.FirstOrDefault(p => p.NodePort != 0 && p.Protocol == port.Protocol && string.Equals(p.Name, port.Name, StringComparison.Ordinal))?.NodePort
                    : null;
                bool IsTaken(int candidate)
                    => IsClaimedByOther(NodePortKey(port.Protocol, candidate), id, out _) || claims.Contains(NodePortKey(port.Protocol, candidate));

                var number = kept is { } k && !IsTaken(k) ? k : NodePortAllocator.Allocate(id, port, IsTaken);
                if (number is null)
                {
                    errors.Add(new($"service {id}", $"spec.ports[{i}].nodePort", $"no free node port left in {NodePortAllocator.First}-{NodePortAllocator.Last}"));
                    continue;
                }

                ports[i] = port with { NodePort = number.Value };
                TryClaim(id, NodePortKey(port.Protocol, number.Value), $"spec.ports[{i}].nodePort", $"{number}/{port.Protocol}", claims);
            }

            var healthCheckNodePort = NeedsHealthCheckNodePort(service) ? service.HealthCheckNodePort : 0;
            if (NeedsHealthCheckNodePort(service) && healthCheckNodePort == 0)
            {
                healthCheckNodePort = AllocateHealthCheckNodePort(id, claims, key => IsClaimedByOther(key, id, out _), errors);
                if (healthCheckNodePort != 0)
                {
                    TryClaim(id, NodePortKey(ServiceProtocol.Tcp, healthCheckNodePort), "spec.healthCheckNodePort", $"{healthCheckNodePort}/TCP", claims);
                }
            }

            staged[id] = new StagedListeners([.. ports], [.. claims], healthCheckNodePort);
        }

        return staged;
    }

    private static bool UsesNodePorts(Service service) => service.Type is ServiceType.NodePort or ServiceType.LoadBalancer;

    // A node port listens on every node address: one claim stands for all of them.
    private static ListenerKey NodePortKey(ServiceProtocol protocol, int number) => new(protocol, new IPEndPoint(IPAddress.Any, number));

    private static bool IsNodePortKey(ListenerKey key) => key.EndPoint.Address.Equals(IPAddress.Any);

    private static bool IsWildcard(IPAddress address) => address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any);

    private bool IsNodeAddress(IPAddress address) => _nodeAddresses.Any(node => IsWildcard(node) || node.Equals(address));

    private void CommitService(NamespacedName id, Service? service, Dictionary<NamespacedName, IPAddress> stagedIPs, Dictionary<NamespacedName, StagedListeners> stagedListeners)
    {
        if (_clusterIPs.Remove(id, out var oldAddress) && _clusterIPOwners.TryGetValue(oldAddress, out var owner) && owner == id)
        {
            _clusterIPOwners.Remove(oldAddress);
        }

        if (_claimsByService.Remove(id, out var oldClaims))
        {
            foreach (var key in oldClaims)
            {
                if (_claims.TryGetValue(key, out var claimant) && claimant == id)
                {
                    _claims.Remove(key);
                    if (!IsNodePortKey(key) && _addressClaimsByPort.TryGetValue((key.Protocol, key.EndPoint.Port), out var samePort) && samePort.Remove(key) && samePort.Count == 0)
                    {
                        _addressClaimsByPort.Remove((key.Protocol, key.EndPoint.Port));
                    }
                }
            }
        }

        _resolvedPorts.Remove(id);
        _healthCheckNodePorts.Remove(id);
        _servicesByNamespace.TryGetValue(id.Namespace, out var inNamespace);
        if (_serviceIndexPairs.Remove(id, out var indexed))
        {
            _serviceSelectors.Remove(id.Namespace, id.Name, [indexed]);
        }

        if (service is null)
        {
            if (inNamespace is not null && inNamespace.Remove(id.Name) && inNamespace.Count == 0)
            {
                _servicesByNamespace.Remove(id.Namespace);
            }

            return;
        }

        if (stagedIPs.TryGetValue(id, out var address))
        {
            _clusterIPs[id] = address;
            _clusterIPOwners[address] = id;
        }

        var listeners = stagedListeners.TryGetValue(id, out var l) ? l : new StagedListeners(service.Ports.IsDefault ? [] : service.Ports, []);
        foreach (var key in listeners.Claims)
        {
            _claims[key] = id;
            if (!IsNodePortKey(key))
            {
                (CollectionsMarshal.GetValueRefOrAddDefault(_addressClaimsByPort, (key.Protocol, key.EndPoint.Port), out _) ??= []).Add(key);
            }
        }

        _claimsByService[id] = listeners.Claims;
        _resolvedPorts[id] = listeners.Ports;
        if (listeners.HealthCheckNodePort != 0)
        {
            _healthCheckNodePorts[id] = listeners.HealthCheckNodePort;
        }
        if (service.Selector is { } selector)
        {
            if (!selector.IsEmpty)
            {
                var rarest = selector.MatchLabels.MinBy(pair => _serviceSelectors.Get(id.Namespace, pair.Key, pair.Value).Count);
                _serviceSelectors.Add(id.Namespace, id.Name, [rarest]);
                _serviceIndexPairs[id] = rarest;
            }
        }

        GetOrAdd(_servicesByNamespace, id.Namespace)[id.Name] = service;
    }

    private void CommitPod(NamespacedName id, Pod? pod, HashSet<NamespacedName> affected)
    {
        _podsByNamespace.TryGetValue(id.Namespace, out var pods);
        Pod? old = null;
        pods?.TryGetValue(id.Name, out old);

        // Both the old and the new labels matter: a relabel leaves one service and joins another. Only
        // services whose selector requires one of the pod's pairs can match it.
        if (_servicesByNamespace.TryGetValue(id.Namespace, out var services))
        {
            var candidates = new HashSet<string>(StringComparer.Ordinal);
            foreach (var labels in (ReadOnlySpan<IReadOnlyDictionary<string, string>?>)[old?.Labels, pod?.Labels])
            {
                foreach (var (key, value) in labels ?? FrozenDictionary<string, string>.Empty)
                {
                    candidates.UnionWith(_serviceSelectors.Get(id.Namespace, key, value));
                }
            }

            foreach (var name in candidates)
            {
                var selector = services[name].Selector!;
                if ((old is not null && selector.Matches(old.Labels)) || (pod is not null && selector.Matches(pod.Labels)))
                {
                    affected.Add(new NamespacedName(id.Namespace, name));
                }
            }
        }

        if (old is not null)
        {
            _podLabels.Remove(id.Namespace, id.Name, old.Labels);
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
            _podLabels.Add(id.Namespace, id.Name, pod.Labels);
        }
    }

    private void CommitSlice(NamespacedName id, EndpointSlice? slice, HashSet<NamespacedName> affected)
    {
        if (_slices.Remove(id, out var old))
        {
            var service = new NamespacedName(id.Namespace, old.ServiceName);
            if (_slicesByService.TryGetValue(service, out var slices) && slices.Remove(id.Name) && slices.Count == 0)
            {
                _slicesByService.Remove(service);
            }

            affected.Add(service);
        }

        if (slice is not null)
        {
            var service = new NamespacedName(id.Namespace, slice.ServiceName);
            _slices[id] = slice;
            var slices = GetOrAdd(_slicesByService, service);
            slices[id.Name] = slice;
            affected.Add(service);
        }
    }

    private void CommitEndpoints(NamespacedName id, Endpoints? endpoints, HashSet<NamespacedName> affected)
    {
        if (endpoints is null)
        {
            _endpointsObjects.Remove(id);
        }
        else
        {
            _endpointsObjects[id] = endpoints;
        }

        affected.Add(id);
    }

    private ServiceSnapshot? BuildService(NamespacedName id, ServiceSnapshot? before, List<EndpointState> updated)
    {
        if (!_servicesByNamespace.TryGetValue(id.Namespace, out var services) || !services.TryGetValue(id.Name, out var service))
        {
            return null;
        }

        var address = _clusterIPs.TryGetValue(id, out var a) ? a : null;
        if (service.Type == ServiceType.ExternalName)
        {
            // Answered by discovery; nothing listens and nothing is forwarded.
            return before is not null && ReferenceEquals(before.Service, service) ? before : new ServiceSnapshot(service, null, [], []);
        }

        var portSpecs = _resolvedPorts[id];
        var pods = SelectPods(service);
        if (_nodeName is null && (service.InternalTrafficPolicy == TrafficPolicy.Local || (service.ExternalTrafficPolicy == TrafficPolicy.Local && UsesNodePorts(service))))
        {
            Log.LocalPolicyWithoutNodeName(_logger, id.ToString());
        }
        var slices = _slicesByService.TryGetValue(id, out var s) ? s.Values : null;

        // Like Kubernetes' mirroring controller: Endpoints back only a service without a selector.
        var mirrored = service.Selector is not { IsEmpty: false } && _endpointsObjects.TryGetValue(id, out var e) ? e : null;
        var unchanged = before is not null && ReferenceEquals(before.Service, service) && Equals(before.ClusterIP, address) && before.Ports.Length == portSpecs.Length;
        var sameBalancing = before is not null && string.Equals(before.Service.Balancer, service.Balancer, StringComparison.OrdinalIgnoreCase);
        var ports = ImmutableArray.CreateBuilder<ServicePortSnapshot>(portSpecs.Length);
        var candidates = new List<EndpointCandidate>();
        for (var i = 0; i < portSpecs.Length; i++)
        {
            var port = portSpecs[i];
            // The same port by name, else by number: naming the only port when adding a second keeps its endpoints' counters.
            var previous = before?.Ports.FirstOrDefault(p => p.Port.Protocol == port.Protocol && string.Equals(p.Port.Name, port.Name, StringComparison.Ordinal))
                ?? before?.Ports.FirstOrDefault(p => p.Port.Protocol == port.Protocol && p.Port.Port == port.Port && !portSpecs.Any(other => string.Equals(other.Name, p.Port.Name, StringComparison.Ordinal)));
            candidates.Clear();
            EndpointSources.FromPods(service, port, pods, candidates);
            if (slices is not null)
            {
                EndpointSources.FromSlices(port, slices, candidates);
            }

            if (mirrored is not null)
            {
                EndpointSources.FromEndpoints(port, mirrored, candidates);
            }

            var load = previous?.Internal.Load ?? new ServicePortLoad();
            var all = BuildEndpoints(id, port, candidates, previous?.AllEndpoints ?? [], load, updated, out var statesChanged);
            var cluster = TrafficRouting.Cluster(all, service.TrafficDistribution, _nodeName, _zone);
            var local = service.InternalTrafficPolicy == TrafficPolicy.Local || service.ExternalTrafficPolicy == TrafficPolicy.Local
                ? TrafficRouting.Local(all, _nodeName)
                : [];
            var internalSet = service.InternalTrafficPolicy == TrafficPolicy.Local ? local : cluster;
            var externalSet = service.ExternalTrafficPolicy == TrafficPolicy.Local ? local : cluster;
            var (internalHealth, externalHealth) = RouteHealth(service, ref internalSet, ref externalSet);
            var virtualEndPoint = address is null ? null : new IPEndPoint(address, port.Port);
            var listeners = ListenersOf(service, port);
            if (previous is not null && !statesChanged && sameBalancing && previous.Port == port && Equals(previous.VirtualEndPoint, virtualEndPoint)
                && SameAffinity(previous.Internal.Affinity, service) && SameListeners(previous, listeners) && Equals(previous.Internal.Policy, service.ConnectionPolicy)
                && previous.AllEndpoints.SequenceEqual(all) && previous.Internal.Endpoints.SequenceEqual(internalSet) && previous.External.Endpoints.SequenceEqual(externalSet)
                && previous.Internal.InPanic == internalHealth.Panic && previous.External.InPanic == externalHealth.Panic)
            {
                // Same endpoints and settings: keep the routes, and with them any state their pickers carry (a round-robin cursor).
                ports.Add(previous);
                unchanged = unchanged && ReferenceEquals(previous, before!.Ports[i]);
                continue;
            }

            unchanged = false;

            // A picker that tracks loads (least-connections' tree) re-registers its endpoints; any other must
            // not leave them feeding the tree of a picker that is being replaced. An endpoint in both routes
            // feeds both routes' trees.
            foreach (var endpoint in all)
            {
                endpoint.StopTrackingLoad();
            }

            // One affinity table per port, shared by both routes as kube-proxy's per-endpoint affinity is: a
            // client keeps its endpoint when the routes split or merge; each route ignores entries it does not take.
            var affinity = service.SessionAffinity != SessionAffinity.ClientIP ? null
                : SameAffinity(previous?.Internal.Affinity, service) ? previous!.Internal.Affinity
                : new SessionAffinityTable(service.SessionAffinityTimeout, _affinityCapacity, _time);
            var internalRoute = BuildRoute(service, port, internalSet, load, affinity, internalHealth, previous?.Internal, "internal");
            var externalRoute = externalSet.SequenceEqual(internalSet) && externalHealth.Panic == internalHealth.Panic ? internalRoute
                : BuildRoute(service, port, externalSet, load, affinity, externalHealth, previous is null || ReferenceEquals(previous.External, previous.Internal) ? null : previous.External, "external");
            ports.Add(new ServicePortSnapshot(id, port, virtualEndPoint, all, internalRoute, externalRoute, listeners));
        }

        var portless = ImmutableArray<EndpointState>.Empty;
        if (service.Headless && portSpecs.IsEmpty)
        {
            // Kubernetes publishes a portless headless service's pods anyway (for DNS): port 0 stands for "no port".
            candidates.Clear();
            var anyPort = new ServicePort { Port = 0 };
            EndpointSources.FromPods(service, anyPort, pods, candidates, anyPortNumber: true);
            EndpointSources.FromSlices(anyPort, slices ?? Enumerable.Empty<EndpointSlice>(), candidates, anyPortNumber: true);
            if (mirrored is not null)
            {
                EndpointSources.FromEndpoints(anyPort, mirrored, candidates, anyPortNumber: true);
            }

            var previousPortless = before?.PortlessEndpoints ?? [];
            portless = BuildEndpoints(id, anyPort, candidates, previousPortless, new ServicePortLoad(), updated, out var statesChanged);
            unchanged = unchanged && !statesChanged && previousPortless.SequenceEqual(portless);
        }

        var healthCheckNodePort = _healthCheckNodePorts.GetValueOrDefault(id);
        unchanged = unchanged && before!.HealthCheckNodePort == healthCheckNodePort;
        return unchanged ? before : new ServiceSnapshot(service, address, ports.MoveToImmutable(), portless, healthCheckNodePort);
    }

    private PortRoute BuildRoute(Service service, ServicePort port, ImmutableArray<EndpointState> endpoints, ServicePortLoad load, SessionAffinityTable? affinity, Health.HealthRouting.Outcome health, PortRoute? previous, string kind)
        => new(service.Id, port, endpoints, endpoints.IsEmpty ? null : CreatePicker(service, endpoints), load, affinity, health.Panic, PanicCount(service, port, health, previous, kind)) { Policy = service.ConnectionPolicy };

    /// <summary>
    /// The service's strategy's picker. The desired state is already committed when pickers are built, so a
    /// strategy that throws (a user's own) must not escape: the port falls back to round robin and the
    /// failure is logged, rather than leaving the published snapshot behind the desired state.
    /// </summary>
    private IEndpointPicker CreatePicker(Service service, ImmutableArray<EndpointState> endpoints)
    {
        if (!_strategies.TryGet(service.Balancer, out var strategy))
        {
            throw new InvalidOperationException($"Strategy '{service.Balancer}' vanished after validation.");
        }

        try
        {
            return strategy.CreatePicker(endpoints);
        }
#pragma warning disable CA1031 // Any failure of a strategy, also a user's, is contained to its service.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            Log.PickerFailed(_logger, service.Id.ToString(), service.Balancer, ex);
            _strategies.TryGet(BalancingStrategies.RoundRobin, out var fallback);
            return fallback!.CreatePicker(endpoints);
        }
    }

    private PortListeners ListenersOf(Service service, ServicePort port)
    {
        if (service.Headless)
        {
            // kube-proxy skips headless services entirely: no node port, external IP or LB listener either.
            return PortListeners.None;
        }

        var nodePorts = UsesNodePorts(service) && port.NodePort != 0
            ? _nodeAddresses.Select(address => new IPEndPoint(address, port.NodePort)).ToImmutableArray()
            : [];
        var external = service.ExternalIPs.Distinct().Select(address => new IPEndPoint(address, port.Port)).ToImmutableArray();
        var loadBalancer = service.Type != ServiceType.LoadBalancer ? []
            : (service.LoadBalancerIP is { } ip ? service.LoadBalancerIngress.Prepend(ip) : service.LoadBalancerIngress)
                .Distinct().Select(address => new IPEndPoint(address, port.Port)).ToImmutableArray();
        return new PortListeners(nodePorts, external, loadBalancer);
    }

    private static bool SameListeners(ServicePortSnapshot previous, PortListeners listeners)
        => previous.NodePortEndPoints.SequenceEqual(listeners.NodePorts)
            && previous.ExternalEndPoints.SequenceEqual(listeners.ExternalIPs)
            && previous.LoadBalancerEndPoints.SequenceEqual(listeners.LoadBalancer);

    private static bool SameAffinity(SessionAffinityTable? table, Service service)
        => service.SessionAffinity == SessionAffinity.ClientIP
            ? table is not null && table.Timeout == service.SessionAffinityTimeout
            : table is null;

    /// <summary>
    /// Says what each changed service gained, lost and updated, and flags the endpoints that left (so
    /// affinity drops them); endpoints that stayed are the same instances.
    /// </summary>
    private static ImmutableArray<ServiceChange> DescribeChanges(CatalogSnapshot previous, CatalogSnapshot next, Dictionary<NamespacedName, List<EndpointState>> updated)
    {
        var changes = ImmutableArray.CreateBuilder<ServiceChange>(next.ChangedServices.Length);
        foreach (var id in next.ChangedServices)
        {
            previous.Services.TryGetValue(id, out var before);
            next.Services.TryGetValue(id, out var after);
            var old = EndpointsOf(before);
            var current = EndpointsOf(after);
            var removed = old.Where(endpoint => !current.Contains(endpoint)).ToImmutableArray();
            foreach (var endpoint in removed)
            {
                endpoint.MarkRemoved();
            }

            var kind = before is null ? ServiceChangeKind.Added : after is null ? ServiceChangeKind.Removed : ServiceChangeKind.Updated;
            changes.Add(new ServiceChange(id, kind, [.. current.Where(endpoint => !old.Contains(endpoint))], removed, [.. updated[id].Distinct()]));
        }

        return changes.MoveToImmutable();
    }

    private static HashSet<EndpointState> EndpointsOf(ServiceSnapshot? service)
    {
        var endpoints = new HashSet<EndpointState>(ReferenceEqualityComparer.Instance);
        foreach (var port in service?.Ports ?? [])
        {
            endpoints.UnionWith(port.AllEndpoints);
        }

        endpoints.UnionWith(service?.PortlessEndpoints ?? []);

        return endpoints;
    }

    private List<Pod> SelectPods(Service service)
    {
        var selected = new List<Pod>();
        if (service.Selector is { IsEmpty: false } selector && _podsByNamespace.TryGetValue(service.Namespace, out var pods))
        {
            foreach (var name in _podLabels.Narrowest(service.Namespace, selector))
            {
                if (pods.TryGetValue(name, out var pod) && selector.Matches(pod.Labels))
                {
                    selected.Add(pod);
                }
            }
        }

        return selected;
    }

    private static ImmutableArray<EndpointState> BuildEndpoints(NamespacedName service, ServicePort port, List<EndpointCandidate> candidates, ImmutableArray<EndpointState> previous, ServicePortLoad load, List<EndpointState> updated, out bool statesChanged)
    {
        statesChanged = false;
        if (candidates.Count == 0)
        {
            return [];
        }

        // Endpoint state (connection counts, traffic totals) carries over while the endpoint stays.
        Dictionary<IPEndPoint, EndpointState>? existing = null;
        if (!previous.IsEmpty)
        {
            existing = previous.ToDictionary(static e => e.EndPoint);
        }

        var seen = new HashSet<IPEndPoint>(candidates.Count);
        var endpoints = new List<EndpointState>(candidates.Count);
        foreach (var candidate in candidates)
        {
            if (!seen.Add(candidate.EndPoint))
            {
                // The same address and port twice (a pod and a slice, two slices): one endpoint, the first given.
                continue;
            }

            if (existing is not null && existing.TryGetValue(candidate.EndPoint, out var state) && state.Pod == candidate.Pod
                && state.Placement == candidate.Placement)
            {
                if (!string.Equals(state.PortName, port.Name, StringComparison.Ordinal))
                {
                    // The previous snapshot's port matched by number (a rename): same endpoint, new port name.
                    state.Rename(port.Name);
                }

                // The same endpoint, so its counters and affinity entries carry on; new conditions or a new weight only rebuild routes.
                var changedHere = false;
                if (state.Weight != candidate.Weight)
                {
                    state.SetWeight(candidate.Weight);
                    changedHere = true;
                }

                if (state.Conditions != candidate.Conditions)
                {
                    state.SetConditions(candidate.Conditions);
                    changedHere = true;
                }

                if (changedHere)
                {
                    statesChanged = true;
                    updated.Add(state);
                }

                endpoints.Add(state);
            }
            else
            {
                endpoints.Add(new EndpointState(service, port.Name, candidate.EndPoint, candidate.Pod, candidate.Weight, load, candidate.Placement, candidate.Conditions));
            }
        }

        endpoints.Sort(EndpointOrder.Instance);
        return [.. endpoints];
    }

    private static Dictionary<string, T> GetOrAdd<TKey, T>(Dictionary<TKey, Dictionary<string, T>> index, TKey key)
        where TKey : notnull
    {
        if (!index.TryGetValue(key, out var inner))
        {
            inner = new Dictionary<string, T>(StringComparer.Ordinal);
            index[key] = inner;
        }

        return inner;
    }

    /// <summary>A changed service's ports with their node ports resolved, and every address:port it claims.</summary>
    private readonly record struct StagedListeners(ImmutableArray<ServicePort> Ports, ListenerKey[] Claims, int HealthCheckNodePort = 0);

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

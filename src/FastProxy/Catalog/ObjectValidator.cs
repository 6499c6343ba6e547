using System.Buffers;
using System.Collections.Immutable;
using System.Net;
using System.Net.Sockets;
using FastProxy.Balancing;
using FastProxy.Model;

namespace FastProxy.Catalog;

/// <summary>
/// Field-by-field checks of one object, with Kubernetes' rules, field paths and wording
/// (pkg/apis/core/validation ValidateService, ValidatePod, ValidateEndpoints; pkg/apis/discovery/validation).
/// Every error is collected; nothing stops at the first. Checks that span objects (addresses and node
/// ports already taken) belong to <see cref="ServiceCatalog"/>'s staging.
/// </summary>
internal static partial class ObjectValidator
{
    // Kubernetes' limits (k8s.io/apimachinery/pkg/util/validation, discovery validation), in one place.
    private const int MaxDnsLabelLength = 63;
    private const int MaxDnsSubdomainLength = 253;
    private const int MaxIanaServiceNameLength = 15;
    private const int MaxLabelNameLength = 63;
    private const int MaxLabelValueLength = 63;
    private const int MinPort = 1;
    private const int MaxPort = 65535;
    private const int MaxSliceEndpoints = 1000;
    private const int MaxEndpointAddresses = 100;

    // FastProxy's own limit (the fastproxy.io/weight annotation).
    private const int MinWeight = 1;
    private const int MaxWeight = 10_000;

    // Kubernetes' limit (ValidateClientIPAffinityConfig): one day.
    private static readonly TimeSpan MaxSessionAffinityTimeout = TimeSpan.FromDays(1);

    private static readonly IPNetwork IPv4Multicast = IPNetwork.Parse("224.0.0.0/4");
    private static readonly SearchValues<char> DnsChars = SearchValues.Create("abcdefghijklmnopqrstuvwxyz0123456789-");
    private static readonly SearchValues<char> LabelChars = SearchValues.Create("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.");

    public static void ValidateService(Service service, BalancingStrategyRegistry strategies, List<ValidationError> errors)
    {
        var report = new Report($"service {service.Namespace}/{service.Name}", errors);
        report.Require("metadata.namespace", service.Namespace, DnsLabel);

        // ValidateServiceName is DNS-1035: the name becomes a DNS label and an environment variable prefix.
        report.Require("metadata.name", service.Name, Dns1035Label);
        report.Check("spec.type", EnumValue(service.Type));
        ValidateServiceAddressing(service, report);

        var ports = service.Ports.IsDefault ? [] : service.Ports;
        if (ports.IsEmpty && !service.Headless && service.Type != ServiceType.ExternalName)
        {
            // Only a headless or ExternalName service makes sense without a port.
            report.Add("spec.ports", "must have at least one port");
        }

        ValidateServicePorts(service.Type, ports, report);
        if (service.Selector is { } selector)
        {
            ValidateLabels(report, "spec.selector", selector.MatchLabels);
        }

        if (!strategies.TryGet(service.Balancer ?? string.Empty, out _))
        {
            report.Add("metadata.annotations[fastproxy.io/balancer]", $"unknown balancing strategy \"{service.Balancer}\"; known: {string.Join(", ", strategies.Names)}");
        }

        report.Check("spec.sessionAffinity", EnumValue(service.SessionAffinity));
        if (service.SessionAffinityTimeout <= TimeSpan.Zero || service.SessionAffinityTimeout > MaxSessionAffinityTimeout)
        {
            report.Add("spec.sessionAffinityConfig.clientIP.timeoutSeconds", $"must be greater than 0 and at most {MaxSessionAffinityTimeout.TotalSeconds:0}, got {service.SessionAffinityTimeout.TotalSeconds:0.###}");
        }

        ValidateExternalAddresses(service, report);
        report.Check("spec.internalTrafficPolicy", EnumValue(service.InternalTrafficPolicy));
        report.Check("spec.externalTrafficPolicy", EnumValue(service.ExternalTrafficPolicy));

        // validateServiceExternalTrafficPolicy: the policy steers traffic that arrives from outside, so it
        // needs a way in (apiservice.ExternallyAccessible); Cluster is indistinguishable from unset here.
        var externallyAccessible = service.Type is ServiceType.NodePort or ServiceType.LoadBalancer
            || (service.Type == ServiceType.ClusterIP && !service.ExternalIPs.IsDefaultOrEmpty);
        if (service.ExternalTrafficPolicy == TrafficPolicy.Local && !externallyAccessible)
        {
            report.Add("spec.externalTrafficPolicy", "may only be set to Local for externally-accessible services (type NodePort or LoadBalancer, or with spec.externalIPs)");
        }

        report.Check("spec.trafficDistribution", EnumValue(service.TrafficDistribution));
        ValidateHealth(service, report);
        foreach (var (field, problem) in ConnectionPolicyRules.Problems(service.ConnectionPolicy))
        {
            report.Add(field, problem);
        }

        ValidateUdpPolicy(service.Udp, report);
    }

    // FastProxy's own limits (the fastproxy.io/udp-* annotations): a sweep runs once a second, so a shorter
    // timeout would not hold; past a million sessions the descriptors, not the table, give out.
    private static readonly TimeSpan MinUdpIdleTimeout = TimeSpan.FromSeconds(1);
    private const int MaxUdpSessions = 1 << 20;

    private static void ValidateUdpPolicy(UdpSessionPolicy? policy, Report report)
    {
        if (policy is null)
        {
            report.Add("spec.udp", "must not be null");
            return;
        }

        if (policy.IdleTimeout < MinUdpIdleTimeout || policy.IdleTimeout > MaxSessionAffinityTimeout)
        {
            report.Add("metadata.annotations[fastproxy.io/udp-session-timeout]", $"must be {MinUdpIdleTimeout.TotalSeconds:0}-{MaxSessionAffinityTimeout.TotalSeconds:0} seconds, got {policy.IdleTimeout.TotalSeconds:0.###}");
        }

        if (policy.MaxSessions is < 1 or > MaxUdpSessions)
        {
            report.Add("metadata.annotations[fastproxy.io/udp-max-sessions]", $"must be 1-{MaxUdpSessions}, got {policy.MaxSessions}");
        }
    }

    public static void ValidatePod(Pod pod, List<ValidationError> errors)
    {
        var report = new Report($"pod {pod.Namespace}/{pod.Name}", errors);
        report.Require("metadata.namespace", pod.Namespace, DnsLabel);
        report.Require("metadata.name", pod.Name, DnsSubdomain);

        // The pod's address is what connections go to: nothing can connect to an any, multicast or broadcast address.
        report.Check("status.podIP", UnicastAddress(pod.Address));
        if (pod.Weight is < MinWeight or > MaxWeight)
        {
            report.Add("metadata.annotations[fastproxy.io/weight]", $"must be {MinWeight}-{MaxWeight}, got {pod.Weight}");
        }

        if (pod.Labels is null)
        {
            report.Add("metadata.labels", "must not be null");
        }
        else
        {
            ValidateLabels(report, "metadata.labels", pod.Labels);
        }

        // The model flattens every container's ports into one list, so its index and name uniqueness span the pod.
        var names = new HashSet<string>(StringComparer.Ordinal);
        var containerPorts = NotNull(report, "spec.containers[*].ports", pod.ContainerPorts);
        for (var i = 0; i < containerPorts.Length; i++)
        {
            var path = $"spec.containers[*].ports[{i}]";
            if (containerPorts[i] is not { } port)
            {
                report.Add(path, "must not be null");
                continue;
            }

            report.Check($"{path}.containerPort", PortNumber(port.Port));
            report.Check($"{path}.protocol", EnumValue(port.Protocol));
            if (!string.IsNullOrEmpty(port.Name))
            {
                // validateContainerPorts: a named targetPort resolves by this name, so it must be an IANA service name and unambiguous.
                var problem = IanaServiceName(port.Name);
                report.Check($"{path}.name", problem);
                if (problem is null && !names.Add(port.Name))
                {
                    report.Add($"{path}.name", $"duplicate value \"{port.Name}\"");
                }
            }
        }

        // spec.nodeName, spec.hostname and spec.subdomain are plain strings in Kubernetes: empty means unset.
        if (!string.IsNullOrEmpty(pod.NodeName))
        {
            // ValidateNodeName: node names are DNS-1123 subdomains.
            report.Check("spec.nodeName", DnsSubdomain(pod.NodeName));
        }

        if (pod.Zone is not null)
        {
            // The zone is the value of the node's topology.kubernetes.io/zone label.
            report.Check("node.metadata.labels[topology.kubernetes.io/zone]", LabelValue(pod.Zone));
        }

        if (!string.IsNullOrEmpty(pod.Hostname))
        {
            // ValidatePodSpec: the host name becomes the first label of the pod's DNS name.
            report.Check("spec.hostname", DnsLabel(pod.Hostname));
        }

        if (!string.IsNullOrEmpty(pod.Subdomain))
        {
            report.Check("spec.subdomain", DnsLabel(pod.Subdomain));
        }
    }

    public static void ValidateEndpointSlice(EndpointSlice slice, List<ValidationError> errors)
    {
        var report = new Report($"endpointslice {slice.Namespace}/{slice.Name}", errors);
        report.Require("metadata.namespace", slice.Namespace, DnsLabel);
        report.Require("metadata.name", slice.Name, DnsSubdomain);

        // The slice belongs to the service its kubernetes.io/service-name label names: a service name is DNS-1035.
        report.Require("metadata.labels[kubernetes.io/service-name]", slice.ServiceName, Dns1035Label);

        // discovery validatePorts: a port's name is the service port's name it serves; unnamed is allowed, but once.
        var names = new HashSet<string>(StringComparer.Ordinal);
        var ports = NotNull(report, "ports", slice.Ports);
        for (var i = 0; i < ports.Length; i++)
        {
            var path = $"ports[{i}]";
            if (ports[i] is not { } port)
            {
                report.Add(path, "must not be null");
                continue;
            }

            if (!string.IsNullOrEmpty(port.Name))
            {
                report.Check($"{path}.name", DnsLabel(port.Name));
            }

            if (!names.Add(port.Name))
            {
                report.Add($"{path}.name", $"duplicate value \"{port.Name}\"");
            }

            report.Check($"{path}.port", PortNumber(port.Port));
            report.Check($"{path}.protocol", EnumValue(port.Protocol));
        }

        var endpoints = NotNull(report, "endpoints", slice.Endpoints);
        if (endpoints.Length > MaxSliceEndpoints)
        {
            // discovery validateEndpoints stops here too: a slice this large is rejected as a whole.
            report.Add("endpoints", $"must have at most {MaxSliceEndpoints} items, got {endpoints.Length}");
            return;
        }

        // Kubernetes' slice has one addressType (IPv4 or IPv6) that every address must match; here the first address sets it.
        AddressFamily? family = null;
        for (var i = 0; i < endpoints.Length; i++)
        {
            var path = $"endpoints[{i}]";
            if (endpoints[i] is not { } endpoint)
            {
                report.Add(path, "must not be null");
                continue;
            }

            var addresses = endpoint.Addresses.IsDefault ? [] : endpoint.Addresses;
            if (addresses.IsEmpty)
            {
                report.Add($"{path}.addresses", "must contain at least 1 address");
            }
            else if (addresses.Length > MaxEndpointAddresses)
            {
                report.Add($"{path}.addresses", $"must have at most {MaxEndpointAddresses} items, got {addresses.Length}");
            }

            for (var j = 0; j < addresses.Length; j++)
            {
                var address = addresses[j];
                var problem = UnicastAddress(address);
                report.Check($"{path}.addresses[{j}]", problem);
                if (problem is not null)
                {
                    continue;
                }

                family ??= address.AddressFamily;
                if (address.AddressFamily != family)
                {
                    report.Add($"{path}.addresses[{j}]", $"all addresses of a slice must be of one family (IPv4 or IPv6), got {address} after {FamilyName(family.Value)} addresses");
                }
            }

            // Pointers in discovery/v1: null is unset, and an empty string is a value that fails.
            if (endpoint.Hostname is not null)
            {
                report.Check($"{path}.hostname", DnsLabel(endpoint.Hostname));
            }

            if (endpoint.NodeName is not null)
            {
                report.Check($"{path}.nodeName", DnsSubdomain(endpoint.NodeName));
            }

            if (endpoint.Zone is not null)
            {
                report.Check($"{path}.zone", LabelValue(endpoint.Zone));
            }
        }
    }

    public static void ValidateEndpoints(Endpoints endpoints, List<ValidationError> errors)
    {
        var report = new Report($"endpoints {endpoints.Namespace}/{endpoints.Name}", errors);
        report.Require("metadata.namespace", endpoints.Namespace, DnsLabel);

        // ValidateEndpointsName is NameIsDNSSubdomain.
        report.Require("metadata.name", endpoints.Name, DnsSubdomain);
        var subsets = NotNull(report, "subsets", endpoints.Subsets);
        for (var i = 0; i < subsets.Length; i++)
        {
            var path = $"subsets[{i}]";
            if (subsets[i] is not { } subset)
            {
                report.Add(path, "must not be null");
                continue;
            }

            var ready = NotNull(report, $"{path}.addresses", subset.Addresses);
            var notReady = NotNull(report, $"{path}.notReadyAddresses", subset.NotReadyAddresses);
            if (ready.IsEmpty && notReady.IsEmpty)
            {
                // validateEndpointSubsets: a subset exists to carry addresses.
                report.Add(path, "must specify `addresses` or `notReadyAddresses`");
            }

            ValidateEndpointAddresses(report, $"{path}.addresses", ready);
            ValidateEndpointAddresses(report, $"{path}.notReadyAddresses", notReady);

            // validateEndpointPort: a port's name is the service port's name it serves, so with several it is required and unambiguous.
            var ports = NotNull(report, $"{path}.ports", subset.Ports);
            var names = new HashSet<string>(StringComparer.Ordinal);
            for (var k = 0; k < ports.Length; k++)
            {
                var portPath = $"{path}.ports[{k}]";
                if (ports[k] is not { } port)
                {
                    report.Add(portPath, "must not be null");
                    continue;
                }

                if (ports.Length > 1 && string.IsNullOrEmpty(port.Name))
                {
                    report.Add($"{portPath}.name", "required when more than one port");
                }
                else if (!string.IsNullOrEmpty(port.Name))
                {
                    report.Check($"{portPath}.name", DnsLabel(port.Name));
                    if (!names.Add(port.Name))
                    {
                        report.Add($"{portPath}.name", $"duplicate value \"{port.Name}\"");
                    }
                }

                report.Check($"{portPath}.port", PortNumber(port.Port));
                report.Check($"{portPath}.protocol", EnumValue(port.Protocol));
            }
        }
    }

    /// <summary>The service's virtual address, its headless form and its DNS alias, which depend on the type.</summary>
    private static void ValidateServiceAddressing(Service service, Report report)
    {
        // spec.externalName on another type is not an error: Kubernetes accepts it with a warning ("is ignored
        // when spec.type is not ExternalName"), and the catalog ignores it too.
        switch (service.Type)
        {
            case ServiceType.ExternalName:
                // An ExternalName service is a DNS alias: no virtual IP, and not headless either (that is clusterIP: None).
                if (service.ClusterIP is not null || service.Headless)
                {
                    report.Add("spec.clusterIP", "must be empty for ExternalName services");
                }

                // The alias is a CNAME target; a trailing dot marks it fully qualified.
                var cname = service.ExternalName is { } name && name.EndsWith('.') ? name[..^1] : service.ExternalName;
                report.Check("spec.externalName", string.IsNullOrEmpty(cname) ? "required for ExternalName services" : DnsSubdomain(cname));
                break;
            case ServiceType.NodePort or ServiceType.LoadBalancer when service.Headless:
                // Node ports and load-balancer addresses forward to the virtual IP, which a headless service lacks.
                report.Add("spec.clusterIP", $"may not be set to 'None' for {service.Type} services");
                break;
        }

        if (service.Headless && service.ClusterIP is { } address && service.Type != ServiceType.ExternalName)
        {
            // Kubernetes has one field for both: clusterIP is either None or an address.
            report.Add("spec.clusterIP", $"must be None (headless) or an address, not both; got None and {address}");
        }
    }

    private static void ValidateServicePorts(ServiceType type, ImmutableArray<ServicePort> ports, Report report)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        var numbers = new HashSet<(int, ServiceProtocol)>();
        var nodePorts = new HashSet<(int, ServiceProtocol)>();
        for (var i = 0; i < ports.Length; i++)
        {
            var path = $"spec.ports[{i}]";
            if (ports[i] is not { } port)
            {
                report.Add(path, "must not be null");
                continue;
            }

            // validateServicePort: endpoints and named target ports find a service port by name, so with several it is required, a DNS label, and unique.
            if (ports.Length > 1 && string.IsNullOrEmpty(port.Name))
            {
                report.Add($"{path}.name", "required when more than one port");
            }
            else if (!string.IsNullOrEmpty(port.Name))
            {
                report.Check($"{path}.name", DnsLabel(port.Name));
                if (!names.Add(port.Name))
                {
                    report.Add($"{path}.name", $"duplicate value \"{port.Name}\"");
                }
            }

            report.Check($"{path}.port", PortNumber(port.Port));
            report.Check($"{path}.protocol", EnumValue(port.Protocol));
            if (port.TargetPort != 0)
            {
                // 0 means "the same as port", as an absent targetPort does in Kubernetes.
                report.Check($"{path}.targetPort", PortNumber(port.TargetPort));
            }

            if (port.TargetPortName is { } targetName)
            {
                // ValidatePortNumOrName: targetPort is one value, a number or a container port's name, never both.
                report.Check($"{path}.targetPort", IanaServiceName(targetName));
                if (port.TargetPort != 0)
                {
                    report.Add($"{path}.targetPort", $"must be a number or a name, not both; got {port.TargetPort} and \"{targetName}\"");
                }
            }

            if (!numbers.Add((port.Port, port.Protocol)))
            {
                report.Add($"{path}.port", $"duplicate port {port.Port}/{port.Protocol}");
            }

            if (port.NodePort == 0)
            {
                continue;
            }

            if (type is ServiceType.ClusterIP or ServiceType.ExternalName)
            {
                // Only NodePort and LoadBalancer services listen on node ports.
                report.Add($"{path}.nodePort", $"may not be used when `type` is '{type}'");
            }
            else if (port.NodePort is < NodePortAllocator.First or > NodePortAllocator.Last)
            {
                // The apiserver's --service-node-port-range, Kubernetes' default.
                report.Add($"{path}.nodePort", $"must be {NodePortAllocator.First}-{NodePortAllocator.Last}, got {port.NodePort}");
            }
            else if (!nodePorts.Add((port.NodePort, port.Protocol)))
            {
                // One node port forwards to one service port.
                report.Add($"{path}.nodePort", $"duplicate node port {port.NodePort}/{port.Protocol}");
            }
        }
    }

    /// <summary>Addresses other than the virtual IP that the service listens on, and who may reach them.</summary>
    private static void ValidateExternalAddresses(Service service, Report report)
    {
        var externalIPs = NotNull(report, "spec.externalIPs", service.ExternalIPs);
        var seen = new HashSet<IPAddress>();
        for (var i = 0; i < externalIPs.Length; i++)
        {
            // The service listens on each: it must be an address a connection can arrive at, and listed once.
            var problem = UnicastAddress(externalIPs[i]);
            report.Check($"spec.externalIPs[{i}]", problem);
            if (problem is null && !seen.Add(externalIPs[i]))
            {
                report.Add($"spec.externalIPs[{i}]", $"duplicate value \"{externalIPs[i]}\"");
            }
        }

        // These fields describe a cloud load balancer, which only type LoadBalancer has.
        var isLoadBalancer = service.Type == ServiceType.LoadBalancer;
        if (service.LoadBalancerIP is { } loadBalancerIP)
        {
            report.Check("spec.loadBalancerIP", isLoadBalancer ? UnicastAddress(loadBalancerIP) : "may only be used when `type` is 'LoadBalancer'");
        }

        var ingress = NotNull(report, "status.loadBalancer.ingress", service.LoadBalancerIngress);
        if (!ingress.IsEmpty && !isLoadBalancer)
        {
            // As ValidateLoadBalancerStatus: the list as a whole is forbidden, so one error names it.
            report.Add("status.loadBalancer.ingress", "may only be used when `spec.type` is 'LoadBalancer'");
        }
        else
        {
            for (var i = 0; i < ingress.Length; i++)
            {
                report.Check($"status.loadBalancer.ingress[{i}].ip", UnicastAddress(ingress[i]));
            }
        }

        // IPNetwork itself clears host bits when parsed or constructed (10.0.0.1/8 becomes 10.0.0.0/8), so
        // Kubernetes' CIDR check holds by construction; only the type rule is left.
        var sourceRanges = NotNull(report, "spec.loadBalancerSourceRanges", service.LoadBalancerSourceRanges);
        if (!sourceRanges.IsEmpty && !isLoadBalancer)
        {
            report.Add("spec.loadBalancerSourceRanges", "may only be used when `type` is 'LoadBalancer'");
        }
    }

    private static void ValidateEndpointAddresses(Report report, string path, ImmutableArray<EndpointAddress> addresses)
    {
        for (var j = 0; j < addresses.Length; j++)
        {
            var addressPath = $"{path}[{j}]";
            if (addresses[j] is not { } address)
            {
                report.Add(addressPath, "must not be null");
                continue;
            }

            report.Check($"{addressPath}.ip", UnicastAddress(address.IP));

            // validateEndpointAddress: hostname is a plain string (empty is unset), nodeName a pointer (empty fails).
            if (!string.IsNullOrEmpty(address.Hostname))
            {
                report.Check($"{addressPath}.hostname", DnsLabel(address.Hostname));
            }

            if (address.NodeName is not null)
            {
                report.Check($"{addressPath}.nodeName", DnsSubdomain(address.NodeName));
            }
        }
    }

    /// <summary>ValidateLabels: each key a qualified name, each value a label value; the key goes in the path.</summary>
    private static void ValidateLabels(Report report, string path, IReadOnlyDictionary<string, string> labels)
    {
        // In key order: label dictionaries (frozen) have no insertion order, and errors should read the same every time.
        foreach (var (key, value) in labels.OrderBy(static pair => pair.Key, StringComparer.Ordinal))
        {
            report.Check($"{path}[{key}]", LabelKey(key));
            report.Check($"{path}[{key}]", LabelValue(value));
        }
    }

    /// <summary>A default <see cref="ImmutableArray{T}"/> is C#'s null list: the catalog reads every list, so it is rejected here rather than failing there.</summary>
    private static ImmutableArray<T> NotNull<T>(Report report, string path, ImmutableArray<T> items)
    {
        if (items.IsDefault)
        {
            report.Add(path, "must not be null");
            return [];
        }

        return items;
    }

    // The rules below return what is wrong with a value, or null when it is valid.

    private static string? PortNumber(int port)
        => port is < MinPort or > MaxPort ? $"must be {MinPort}-{MaxPort}, got {port}" : null;

    private static string? EnumValue<T>(T value)
        where T : struct, Enum
        => Enum.IsDefined(value) ? null : $"unsupported value \"{value}\"; supported: {string.Join(", ", Enum.GetNames<T>())}";

    /// <summary>An address a connection can be made to or arrive at: not unspecified, multicast or broadcast.</summary>
    /// <remarks>
    /// Kubernetes' ValidateNonSpecialIP also refuses loopback and link-local addresses for endpoints and external
    /// IPs, because a cluster node cannot forward to them; FastProxy runs on one host, where loopback backends
    /// are the common case, so it refuses only what no connection can use.
    /// </remarks>
    private static string? UnicastAddress(IPAddress? address)
    {
        if (address is null)
        {
            return "required";
        }

        var plain = address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;
        var unicast = plain.AddressFamily switch
        {
            AddressFamily.InterNetwork => !plain.Equals(IPAddress.Any) && !plain.Equals(IPAddress.Broadcast) && !IPv4Multicast.Contains(plain),
            AddressFamily.InterNetworkV6 => !plain.Equals(IPAddress.IPv6Any) && !plain.IsIPv6Multicast,
            _ => false,
        };
        return unicast ? null : $"must be a unicast IP address, got {address}";
    }

    /// <summary>RFC 1123 label (IsDNS1123Label): names that become one DNS label.</summary>
    private static string? DnsLabel(string value)
    {
        if (value.Length > MaxDnsLabelLength)
        {
            return $"must be no more than {MaxDnsLabelLength} characters, got {value.Length}";
        }

        return IsDnsLabel(value)
            ? null
            : $"must consist of lower case alphanumeric characters or '-', and start and end with an alphanumeric character, got \"{value}\"";
    }

    /// <summary>RFC 1035 label (IsDNS1035Label): a DNS label that starts with a letter.</summary>
    private static string? Dns1035Label(string value)
    {
        if (value.Length > MaxDnsLabelLength)
        {
            return $"must be no more than {MaxDnsLabelLength} characters, got {value.Length}";
        }

        return IsDnsLabel(value) && char.IsAsciiLetterLower(value[0])
            ? null
            : $"must consist of lower case alphanumeric characters or '-', start with a letter, and end with an alphanumeric character, got \"{value}\"";
    }

    /// <summary>RFC 1123 subdomain (IsDNS1123Subdomain): dot-separated labels, 253 characters at most.</summary>
    private static string? DnsSubdomain(string value)
    {
        if (value.Length > MaxDnsSubdomainLength)
        {
            return $"must be no more than {MaxDnsSubdomainLength} characters, got {value.Length}";
        }

        foreach (var range in value.AsSpan().Split('.'))
        {
            if (!IsDnsLabel(value.AsSpan()[range]))
            {
                return $"must consist of lower case alphanumeric characters, '-' or '.', and start and end with an alphanumeric character, got \"{value}\"";
            }
        }

        return null;
    }

    /// <summary>
    /// IANA service name (IsValidPortName, RFC 6335): what a named port is; 15 characters at most, lower
    /// case alphanumerics and '-', at least one letter, no '-' at either end and no "--".
    /// </summary>
    private static string? IanaServiceName(string value)
    {
        if (value.Length > MaxIanaServiceNameLength)
        {
            return $"must be no more than {MaxIanaServiceNameLength} characters, got {value.Length}";
        }

        if (value.AsSpan().ContainsAnyExcept(DnsChars))
        {
            return $"must contain only lower case alphanumeric characters (a-z, 0-9) and '-', got \"{value}\"";
        }

        if (!value.AsSpan().ContainsAnyInRange('a', 'z'))
        {
            return $"must contain at least one letter (a-z), got \"{value}\"";
        }

        if (value.Contains("--", StringComparison.Ordinal))
        {
            return $"must not contain consecutive hyphens, got \"{value}\"";
        }

        return value[0] == '-' || value[^1] == '-' ? $"must not begin or end with a hyphen, got \"{value}\"" : null;
    }

    /// <summary>Label key (IsQualifiedName): an optional DNS-1123 subdomain prefix and '/', then a name.</summary>
    private static string? LabelKey(string key)
    {
        var slash = key.IndexOf('/', StringComparison.Ordinal);
        var name = slash < 0 ? key : key[(slash + 1)..];
        if (slash >= 0)
        {
            var prefix = key[..slash];
            if (prefix.Length == 0)
            {
                return "prefix part must not be empty";
            }

            if (DnsSubdomain(prefix) is { } problem)
            {
                return $"prefix part {problem}";
            }

            if (name.Contains('/', StringComparison.Ordinal))
            {
                return $"must be a name with an optional DNS subdomain prefix and '/' (e.g. 'example.com/my-name'), got \"{key}\"";
            }
        }

        if (name.Length == 0)
        {
            return "name part must not be empty";
        }

        if (name.Length > MaxLabelNameLength)
        {
            return $"name part must be no more than {MaxLabelNameLength} characters, got {name.Length}";
        }

        return IsLabelName(name)
            ? null
            : $"name part must consist of alphanumeric characters, '-', '_' or '.', and start and end with an alphanumeric character, got \"{name}\"";
    }

    /// <summary>Label value (IsValidLabelValue): empty, or the same shape as a key's name part.</summary>
    private static string? LabelValue(string? value)
    {
        if (value is null)
        {
            return "must not be null";
        }

        if (value.Length > MaxLabelValueLength)
        {
            return $"must be no more than {MaxLabelValueLength} characters, got {value.Length}";
        }

        return value.Length == 0 || IsLabelName(value)
            ? null
            : $"must be empty or consist of alphanumeric characters, '-', '_' or '.', and start and end with an alphanumeric character, got \"{value}\"";
    }

    // [a-z0-9]([-a-z0-9]*[a-z0-9])?
    private static bool IsDnsLabel(ReadOnlySpan<char> value)
        => value.Length > 0 && !value.ContainsAnyExcept(DnsChars) && value[0] != '-' && value[^1] != '-';

    // [A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?
    private static bool IsLabelName(string value)
        => value.Length > 0 && !value.AsSpan().ContainsAnyExcept(LabelChars) && char.IsAsciiLetterOrDigit(value[0]) && char.IsAsciiLetterOrDigit(value[^1]);

    private static string FamilyName(AddressFamily family) => family == AddressFamily.InterNetworkV6 ? "IPv6" : "IPv4";

    /// <summary>The errors of one object: its subject named once, each error with its field path.</summary>
    private sealed class Report(string subject, List<ValidationError> errors)
    {
        public void Add(string field, string message) => errors.Add(new(subject, field, message));

        /// <summary>Adds <paramref name="problem"/> when there is one.</summary>
        public void Check(string field, string? problem)
        {
            if (problem is not null)
            {
                Add(field, problem);
            }
        }

        /// <summary>Adds "required" for a missing value, else what <paramref name="rule"/> finds wrong with it.</summary>
        public void Require(string field, string? value, Func<string, string?> rule)
            => Check(field, string.IsNullOrEmpty(value) ? "required" : rule(value));
    }
}

using System.Collections.Immutable;
using System.Net;
using FastProxy.Manifests.Syntax;
using FastProxy.Model;

namespace FastProxy.Manifests.Mapping;

/// <summary>A v1 Service to a <see cref="Service"/>, field by field with Kubernetes' defaults.</summary>
internal static class ServiceMapper
{
    private const string None = "None";

    public static Service Map(MapReader root, ObjectMetadata metadata)
    {
        var spec = root.Map("spec", Schemas.ServiceSpec);
        var (clusterIP, headless) = ReadClusterIP(spec);
        var service = new Service
        {
            Namespace = metadata.Namespace,
            Name = metadata.Name,
            Type = Choices.Read(spec, "type", Choices.ServiceTypes, ServiceType.ClusterIP),
            ClusterIP = clusterIP,
            Headless = headless,
            ExternalName = spec.String("externalName"),
            Ports = ReadPorts(spec),
            Selector = ReadSelector(spec),
            SessionAffinity = Choices.Read(spec, "sessionAffinity", Choices.Affinities, SessionAffinity.None),
            SessionAffinityTimeout = ReadAffinityTimeout(spec),
            PublishNotReadyAddresses = spec.Bool("publishNotReadyAddresses") ?? false,
            ExternalIPs = [.. spec.Strings("externalIPs").Select(e => Ip(spec, e)).OfType<IPAddress>()],
            LoadBalancerIP = spec.String("loadBalancerIP") is { Length: > 0 } ? Values.IP(spec.Scope, spec.Get("loadBalancerIP"), spec.PathOf("loadBalancerIP")) : null,
            LoadBalancerSourceRanges = [.. spec.List("loadBalancerSourceRanges").Select(e => Values.Cidr(spec.Scope, e.Item, e.Path)).OfType<IPNetwork>()],
            LoadBalancerIngress = ReadIngress(root),
            InternalTrafficPolicy = Choices.Read(spec, "internalTrafficPolicy", Choices.Policies, TrafficPolicy.Cluster, ("Global", "(Global is the old name of Cluster)")),
            ExternalTrafficPolicy = Choices.Read(spec, "externalTrafficPolicy", Choices.Policies, TrafficPolicy.Cluster, ("Global", "(Global is the old name of Cluster)")),
            TrafficDistribution = Choices.Read(spec, "trafficDistribution", Choices.Distributions, TrafficDistribution.Default),
            HealthCheckNodePort = spec.Int("healthCheckNodePort") ?? 0,
        };
        service = HealthAnnotations.Apply(service, metadata, root.Scope);

        if (metadata.Annotations.TryGetValue(ManifestAnnotations.Balancer, out var balancer))
        {
            // The catalog checks the name against its registered strategies.
            service = service with { Balancer = balancer.Value.Trim() };
        }

        service = service with { ConnectionPolicy = ConnectionPolicyAnnotations.Read(root.Scope, metadata) };
        service = ReadUdpPolicy(root, metadata, service);

        if (root.Get("spec") is null)
        {
            root.Scope.Error("spec", root.Node, "required");
        }

        return service;
    }

    /// <summary>The <c>fastproxy.io/udp-*</c> annotations; the catalog checks their ranges.</summary>
    private static Service ReadUdpPolicy(MapReader root, ObjectMetadata metadata, Service service)
    {
        var reader = new AnnotationReader(metadata.Annotations, root.Scope);
        var policy = service.Udp with
        {
            IdleTimeout = reader.Duration(ManifestAnnotations.UdpSessionTimeout) ?? service.Udp.IdleTimeout,
            MaxSessions = reader.Int(ManifestAnnotations.UdpMaxSessions) ?? service.Udp.MaxSessions,
        };
        return policy == service.Udp ? service : service with { Udp = policy };
    }

    /// <summary><c>clusterIP</c>, else the first <c>clusterIPs</c> entry: <c>None</c> is headless, empty (or absent) lets the catalog allocate.</summary>
    private static (IPAddress? Address, bool Headless) ReadClusterIP(MapReader spec)
    {
        var single = spec.String("clusterIP");
        var list = spec.Strings("clusterIPs").ToList();
        if (list.Count > 0 && single is { Length: > 0 } && !string.Equals(list[0].Value, single, StringComparison.Ordinal))
        {
            // As the API server: clusterIPs[0] and clusterIP are the same field twice.
            spec.Scope.Error($"{spec.PathOf("clusterIPs")}[0]", list[0].Node, $"must match spec.clusterIP {ScalarNode.Quote(single)}, got {ScalarNode.Quote(list[0].Value)}");
        }

        var (text, node, path) = single is { Length: > 0 }
            ? (single, spec.Get("clusterIP")!, spec.PathOf("clusterIP"))
            : list.Count > 0 ? list[0] : (string.Empty, null!, string.Empty);
        if (text.Length == 0)
        {
            return (null, false);
        }

        if (string.Equals(text, None, StringComparison.Ordinal))
        {
            return (null, true);
        }

        var address = Values.ParseIP(text);
        if (address is null)
        {
            spec.Scope.Error(path, node, $"must be a valid IP address, \"None\" or empty, got {ScalarNode.Quote(text)}");
        }

        return (address, false);
    }

    private static ImmutableArray<ServicePort> ReadPorts(MapReader spec)
    {
        var ports = ImmutableArray.CreateBuilder<ServicePort>();
        foreach (var (item, _) in spec.Maps("ports", Schemas.ServicePort))
        {
            var number = item.Int("port");
            if (item.Exists && item.Get("port") is null)
            {
                item.Scope.Error(item.PathOf("port"), item.Node, "required");
            }

            var nodePort = item.Int("nodePort") ?? 0;
            if (nodePort != 0)
            {
                Values.CheckPort(item.Scope, item.Get("nodePort"), item.PathOf("nodePort"), nodePort);
            }

            var (targetPort, targetName) = ReadTargetPort(item);
            ports.Add(new ServicePort
            {
                Name = item.String("name") ?? string.Empty,
                Protocol = Choices.Protocol(item),
                Port = number ?? 0,
                TargetPort = targetPort,
                TargetPortName = targetName,
                NodePort = nodePort,
            });
        }

        return ports.ToImmutable();
    }

    /// <summary><c>targetPort</c> is Kubernetes' IntOrString: a number, or the name of a container port.</summary>
    private static (int Number, string? Name) ReadTargetPort(MapReader port)
    {
        var node = port.Get("targetPort");
        var path = port.PathOf("targetPort");
        switch (node)
        {
            case null:
                return (0, null);
            case ScalarNode { Type: ScalarType.String } name:
                if (Values.PortNameProblem(name.Value) is { } problem)
                {
                    var hint = name.Value.Length > 0 && name.Value.All(char.IsAsciiDigit) ? " (a number must not be quoted)" : string.Empty;
                    port.Scope.Error(path, node, $"must be a port number or a port name; as a name, {ScalarNode.Quote(name.Value)} {problem}{hint}");
                    return (0, null);
                }

                return (0, name.Value);
            case ScalarNode { Type: ScalarType.Int }:
                return (Values.Int(port.Scope, node, path) ?? 0, null);
            default:
                port.Scope.Error(path, node, $"must be a port number or a port name, got {node.Describe()}");
                return (0, null);
        }
    }

    private static LabelSelector? ReadSelector(MapReader spec)
    {
        var selector = spec.StringMap("selector");
        return selector.Count == 0 ? null : new LabelSelector(selector.Select(static p => KeyValuePair.Create(p.Key, p.Value.Value)));
    }

    private static TimeSpan ReadAffinityTimeout(MapReader spec)
    {
        var clientIP = spec.Map("sessionAffinityConfig", Schemas.SessionAffinityConfig).Map("clientIP", Schemas.ClientIPConfig);
        // The catalog checks the range (1 second to 1 day) and names the same field.
        return clientIP.Int("timeoutSeconds") is { } seconds ? TimeSpan.FromSeconds(seconds) : Service.DefaultSessionAffinityTimeout;
    }

    /// <summary>
    /// <c>status.loadBalancer.ingress[].ip</c>. An ingress with only a hostname (a cloud load balancer's
    /// DNS name) cannot be listened on: it is reported and skipped.
    /// </summary>
    private static ImmutableArray<IPAddress> ReadIngress(MapReader root)
    {
        var ingress = ImmutableArray.CreateBuilder<IPAddress>();
        var loadBalancer = root.Map("status", Schemas.ServiceStatus).Map("loadBalancer", Schemas.LoadBalancerStatus);
        foreach (var (item, _) in loadBalancer.Maps("ingress", Schemas.LoadBalancerIngress))
        {
            if (item.Get("ip") is not null)
            {
                if (Values.IP(item.Scope, item.Get("ip"), item.PathOf("ip")) is { } address)
                {
                    ingress.Add(address);
                }
            }
            else if (item.String("hostname") is { } hostname)
            {
                item.Scope.Warning(item.Path, item.Node, $"hostname-only ingress {ScalarNode.Quote(hostname)} cannot be listened on; ignored");
            }
        }

        return ingress.ToImmutable();
    }

    private static IPAddress? Ip(MapReader reader, (string Value, Node Node, string Path) entry)
    {
        var address = Values.ParseIP(entry.Value);
        if (address is null)
        {
            reader.Scope.Error(entry.Path, entry.Node, $"must be a valid IP address, got {ScalarNode.Quote(entry.Value)}");
        }

        return address;
    }
}

using System.Collections.Immutable;
using System.Net;
using System.Net.Sockets;
using FastProxy.Manifests.Syntax;
using FastProxy.Model;

namespace FastProxy.Manifests.Mapping;

/// <summary>
/// A discovery.k8s.io/v1 EndpointSlice to an <see cref="EndpointSlice"/>. Conditions follow the API's
/// nil rules: ready absent is ready, serving absent is the same as ready, terminating absent is false.
/// </summary>
internal static class EndpointSliceMapper
{
    /// <summary>The label that names a slice's service; required, as kube-proxy ignores slices without it.</summary>
    public const string ServiceNameLabel = "kubernetes.io/service-name";

    public static EndpointSlice? Map(MapReader root, ObjectMetadata metadata)
    {
        var family = ReadAddressType(root, out var isFqdn);
        if (!metadata.Labels.TryGetValue(ServiceNameLabel, out var serviceName) || serviceName.Value.Length == 0)
        {
            root.Scope.Error(ObjectMetadata.LabelPath(ServiceNameLabel), metadata.Reader.Node ?? root.Node, "required: the name of the service this slice belongs to");
        }

        if (isFqdn)
        {
            root.Scope.Warning("addressType", root.Get("addressType"), "FQDN slices cannot be forwarded to (kube-proxy ignores them too); skipped");
            return null;
        }

        var ports = EndpointPorts.Read(root, portRequired: false);
        var endpoints = ImmutableArray.CreateBuilder<SliceEndpoint>();
        foreach (var (endpoint, _) in root.Maps("endpoints", Schemas.SliceEndpoint))
        {
            if (endpoint.Exists && ReadEndpoint(endpoint, family) is { } mapped)
            {
                endpoints.Add(mapped);
            }
        }

        return new EndpointSlice
        {
            Namespace = metadata.Namespace,
            Name = metadata.Name,
            ServiceName = serviceName.Value ?? string.Empty,
            Ports = ports,
            Endpoints = endpoints.ToImmutable(),
        };
    }

    private static AddressFamily? ReadAddressType(MapReader root, out bool isFqdn)
    {
        isFqdn = false;
        var text = root.String("addressType");
        switch (text)
        {
            case null:
                // A wrong-typed value was reported by String already.
                if (root.Get("addressType") is null)
                {
                    root.Scope.Error("addressType", root.Node, "required: IPv4 or IPv6");
                }

                return null;
            case "IPv4":
                return AddressFamily.InterNetwork;
            case "IPv6":
                return AddressFamily.InterNetworkV6;
            case "FQDN":
                isFqdn = true;
                return null;
            default:
                root.Scope.Error("addressType", root.Get("addressType"), $"unsupported value {ScalarNode.Quote(text)}; supported: IPv4, IPv6, FQDN");
                return null;
        }
    }

    private static SliceEndpoint? ReadEndpoint(MapReader endpoint, AddressFamily? family)
    {
        var addresses = ImmutableArray.CreateBuilder<IPAddress>();
        foreach (var (value, node, path) in endpoint.Strings("addresses"))
        {
            var address = Values.ParseIP(value);
            if (address is null)
            {
                endpoint.Scope.Error(path, node, $"must be a valid IP address, got {ScalarNode.Quote(value)}");
            }
            else if (family is { } f && address.AddressFamily != f)
            {
                endpoint.Scope.Error(path, node, $"must be an {(f == AddressFamily.InterNetwork ? "IPv4" : "IPv6")} address (the slice's addressType), got {ScalarNode.Quote(value)}");
            }
            else
            {
                addresses.Add(address);
            }
        }

        var conditions = endpoint.Map("conditions", Schemas.SliceConditions);
        var ready = conditions.Bool("ready") ?? true;
        var serving = conditions.Bool("serving") ?? ready;
        var terminating = conditions.Bool("terminating") ?? false;
        var hostname = endpoint.String("hostname");
        var nodeName = endpoint.String("nodeName");
        var zone = endpoint.String("zone");
        if (addresses.Count == 0)
        {
            if (endpoint.Get("addresses") is not SequenceNode { Items.Count: > 0 })
            {
                endpoint.Scope.Error(endpoint.PathOf("addresses"), endpoint.Get("addresses") ?? endpoint.Node, "must have at least one address");
            }

            return null;
        }

        return new SliceEndpoint
        {
            Addresses = addresses.ToImmutable(),
            Conditions = new EndpointConditions(ready, serving, terminating),
            Hostname = hostname,
            NodeName = nodeName,
            Zone = zone,
        };
    }
}

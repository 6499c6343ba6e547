using System.Collections.Immutable;
using FastProxy.Model;

namespace FastProxy.Manifests.Mapping;

/// <summary>A v1 Endpoints to an <see cref="Endpoints"/>: subsets of ready and not-ready addresses sharing ports.</summary>
internal static class EndpointsMapper
{
    public static Endpoints Map(MapReader root, ObjectMetadata metadata)
    {
        var subsets = ImmutableArray.CreateBuilder<EndpointSubset>();
        foreach (var (subset, _) in root.Maps("subsets", Schemas.EndpointSubset))
        {
            subsets.Add(new EndpointSubset
            {
                Addresses = ReadAddresses(subset, "addresses"),
                NotReadyAddresses = ReadAddresses(subset, "notReadyAddresses"),
                Ports = EndpointPorts.Read(subset, portRequired: true),
            });
        }

        return new Endpoints { Namespace = metadata.Namespace, Name = metadata.Name, Subsets = subsets.ToImmutable() };
    }

    private static ImmutableArray<EndpointAddress> ReadAddresses(MapReader subset, string key)
    {
        var addresses = ImmutableArray.CreateBuilder<EndpointAddress>();
        foreach (var (address, _) in subset.Maps(key, Schemas.EndpointAddress))
        {
            if (!address.Exists)
            {
                continue;
            }

            var hostname = address.String("hostname");
            var nodeName = address.String("nodeName");
            if (address.Get("ip") is null)
            {
                address.Scope.Error(address.PathOf("ip"), address.Node, "required");
            }
            else if (Values.IP(address.Scope, address.Get("ip"), address.PathOf("ip")) is { } ip)
            {
                addresses.Add(new EndpointAddress { IP = ip, Hostname = hostname, NodeName = nodeName });
            }
        }

        return addresses.ToImmutable();
    }
}

using System.Net;
using FastProxy.Model;

namespace FastProxy.Manifests.Tests;

/// <summary>Explicit endpoints: core/v1 Endpoints and discovery.k8s.io/v1 EndpointSlice.</summary>
public sealed class EndpointManifestTests
{
    [Fact]
    public void Endpoints_SubsetsAddressesAndPorts()
    {
        var set = Manifests.Yaml("""
            apiVersion: v1
            kind: Endpoints
            metadata:
              name: db
              namespace: data
            subsets:
              - addresses:
                  - ip: 127.0.1.10
                    hostname: primary
                    nodeName: node-1
                    targetRef: {kind: Pod, name: db-0}
                notReadyAddresses:
                  - ip: 127.0.1.11
                ports:
                  - {name: postgres, port: 5432, protocol: TCP, appProtocol: postgresql}
              - addresses: [{ip: "fd00::1"}]
                ports: [{port: 53, protocol: UDP}]
            """);

        Assert.Empty(set.Diagnostics);
        var endpoints = Assert.Single(set.Endpoints);
        Assert.Equal(new NamespacedName("data", "db"), endpoints.Id);
        Assert.Equal(2, endpoints.Subsets.Length);
        var first = endpoints.Subsets[0];
        Assert.Equal([new EndpointAddress { IP = IPAddress.Parse("127.0.1.10"), Hostname = "primary", NodeName = "node-1" }], first.Addresses.ToArray());
        Assert.Equal([new EndpointAddress { IP = IPAddress.Parse("127.0.1.11") }], first.NotReadyAddresses.ToArray());
        Assert.Equal([new EndpointPort { Name = "postgres", Port = 5432 }], first.Ports.ToArray());
        Assert.Equal([new EndpointPort { Port = 53, Protocol = ServiceProtocol.Udp }], endpoints.Subsets[1].Ports.ToArray());
        Assert.Equal(IPAddress.Parse("fd00::1"), endpoints.Subsets[1].Addresses[0].IP);
    }

    [Fact]
    public void Endpoints_AddressAndPortAreRequired()
    {
        var set = Manifests.Yaml("""
            apiVersion: v1
            kind: Endpoints
            metadata: {name: db}
            subsets:
              - addresses: [{hostname: x}]
                ports: [{name: p}]
            """);
        Assert.Empty(set.Endpoints);
        Assert.Equal(
            [
                "test.yaml[doc 1] endpoints default/db: subsets[0].addresses[0].ip: required (line 5, column 17)",
                "test.yaml[doc 1] endpoints default/db: subsets[0].ports[0].port: required (line 6, column 13)",
            ],
            set.Errors());
    }

    [Fact]
    public void EndpointSlice_EveryField_AndConditionDefaults()
    {
        var set = Manifests.Yaml("""
            apiVersion: discovery.k8s.io/v1
            kind: EndpointSlice
            metadata:
              name: cache-abc
              labels:
                kubernetes.io/service-name: cache
                endpointslice.kubernetes.io/managed-by: me
            addressType: IPv4
            ports:
              - {name: redis, port: 6379, protocol: TCP}
              - {name: stats, port: 9121}
            endpoints:
              - addresses: [127.0.1.20, 127.0.1.99]
                hostname: cache-0
                nodeName: node-1
                zone: zone-a
                targetRef: {kind: Pod, name: cache-0}
              - addresses: [127.0.1.21]
                conditions: {ready: false}
              - addresses: [127.0.1.22]
                conditions: {ready: false, serving: true, terminating: true}
              - addresses: [127.0.1.23]
                conditions: {serving: false}
            """);

        Assert.Empty(set.Diagnostics);
        var slice = Assert.Single(set.EndpointSlices);
        Assert.Equal(new NamespacedName("default", "cache-abc"), slice.Id);
        Assert.Equal("cache", slice.ServiceName);
        Assert.Equal([new EndpointPort { Name = "redis", Port = 6379 }, new EndpointPort { Name = "stats", Port = 9121 }], slice.Ports.ToArray());
        var first = slice.Endpoints[0];
        Assert.Equal([IPAddress.Parse("127.0.1.20"), IPAddress.Parse("127.0.1.99")], first.Addresses.ToArray());
        Assert.Equal(("cache-0", "node-1", "zone-a"), (first.Hostname, first.NodeName, first.Zone));
        // ready nil -> true, serving nil -> ready, terminating nil -> false.
        Assert.Equal(
            [
                new EndpointConditions(true, true, false),
                new EndpointConditions(false, false, false),
                new EndpointConditions(false, true, true),
                new EndpointConditions(true, false, false),
            ],
            slice.Endpoints.Select(e => e.Conditions).ToArray());
    }

    [Fact]
    public void EndpointSlice_IPv6()
    {
        var slice = Assert.Single(Manifests.Yaml(Slice("IPv6", "[\"::1\"]")).EndpointSlices);
        Assert.Equal(IPAddress.IPv6Loopback, slice.Endpoints[0].Addresses[0]);
    }

    [Fact]
    public void EndpointSlice_AddressMustMatchTheAddressType()
    {
        var set = Manifests.Yaml(Slice("IPv4", "[\"::1\"]"));
        Assert.Equal(["test.yaml[doc 1] endpointslice default/s: endpoints[0].addresses[0]: must be an IPv4 address (the slice's addressType), got \"::1\" (line 6, column 17)"], set.Errors());
    }

    [Fact]
    public void EndpointSlice_Fqdn_IsSkippedWithAWarning()
    {
        var set = Manifests.Yaml(Slice("FQDN", "[db.example.com]"));
        Assert.Empty(set.EndpointSlices);
        Assert.False(set.HasErrors);
        Assert.Equal(["warning: test.yaml[doc 1] endpointslice default/s: addressType: FQDN slices cannot be forwarded to (kube-proxy ignores them too); skipped (line 4, column 14)"], set.Printed());
    }

    [Fact]
    public void EndpointSlice_ServiceNameLabelIsRequired()
    {
        var set = Manifests.Yaml("""
            apiVersion: discovery.k8s.io/v1
            kind: EndpointSlice
            metadata:
              name: s
            addressType: IPv4
            endpoints: []
            """);
        Assert.Equal(["test.yaml[doc 1] endpointslice default/s: metadata.labels[kubernetes.io/service-name]: required: the name of the service this slice belongs to (line 4, column 3)"], set.Errors());
    }

    [Fact]
    public void EndpointSlice_PortWithoutNumber_IsIgnoredWithAWarning()
    {
        var set = Manifests.Yaml(Slice("IPv4", "[127.0.1.1]", ports: "[{name: all}]"));
        Assert.Empty(Assert.Single(set.EndpointSlices).Ports);
        Assert.Equal(["warning: test.yaml[doc 1] endpointslice default/s: ports[0]: a port without a number cannot be forwarded to; ignored (line 7, column 9)"], set.Printed());
    }

    [Fact]
    public void EndpointSlice_EndpointNeedsAnAddress()
    {
        var set = Manifests.Yaml(Slice("IPv4", "[]"));
        Assert.Equal(["test.yaml[doc 1] endpointslice default/s: endpoints[0].addresses: must have at least one address (line 6, column 16)"], set.Errors());
    }

    [Fact]
    public void EndpointSlice_AddressTypeIsRequired()
    {
        var set = Manifests.Yaml("apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: s, labels: {kubernetes.io/service-name: web}}\n");
        Assert.Equal(["test.yaml[doc 1] endpointslice default/s: addressType: required: IPv4 or IPv6 (line 1, column 1)"], set.Errors());
    }

    private static string Slice(string addressType, string addresses, string ports = "[{port: 80}]") => $"""
        apiVersion: discovery.k8s.io/v1
        kind: EndpointSlice
        metadata: {"{"}name: s, labels: {"{"}kubernetes.io/service-name: web{"}}"}
        addressType: {addressType}
        endpoints:
          - addresses: {addresses}
        ports: {ports}
        """;
}

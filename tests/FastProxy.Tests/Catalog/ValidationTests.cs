using System.Collections.Immutable;
using System.Net;
using FastProxy.Model;

namespace FastProxy.Catalog.Tests;

/// <summary>Kubernetes' per-object rules: one test per rule, each asserting the exact <c>subject: field: message</c>.</summary>
public sealed class ValidationTests
{
    private const string DnsLabelMessage = "must consist of lower case alphanumeric characters or '-', and start and end with an alphanumeric character";
    private const string DnsSubdomainMessage = "must consist of lower case alphanumeric characters, '-' or '.', and start and end with an alphanumeric character";
    private const string LabelValueMessage = "must be empty or consist of alphanumeric characters, '-', '_' or '.', and start and end with an alphanumeric character";

    private static Service Web(ServiceType type = ServiceType.ClusterIP) => new()
    {
        Name = "web",
        Type = type,
        Selector = new LabelSelector(new Dictionary<string, string> { ["app"] = "web" }),
        Ports = [new ServicePort { Port = 80, TargetPort = 8080 }],
    };

    private static Service Alias(string? externalName = "db.example.com") => Web(ServiceType.ExternalName) with { ExternalName = externalName };

    private static Pod WebPod() => new()
    {
        Name = "web-1",
        Address = IPAddress.Parse("127.0.1.1"),
        Labels = new Dictionary<string, string> { ["app"] = "web" },
    };

    private static EndpointSlice Slice(params string[] addresses) => new()
    {
        Name = "web-abc",
        ServiceName = "web",
        Ports = [new EndpointPort { Port = 8080 }],
        Endpoints = addresses.Length == 0
            ? [new SliceEndpoint { Addresses = [IPAddress.Parse("127.0.2.1")] }]
            : [.. addresses.Select(a => new SliceEndpoint { Addresses = [IPAddress.Parse(a)] })],
    };

    private static SliceEndpoint SliceEndpoint(string address = "127.0.2.1") => new() { Addresses = [IPAddress.Parse(address)] };

    private static EndpointAddress Address(string ip) => new() { IP = IPAddress.Parse(ip) };

    private static Endpoints WebEndpoints(EndpointSubset? subset = null) => new()
    {
        Name = "web",
        Subsets = [subset ?? new EndpointSubset { Addresses = [Address("127.0.3.1")], Ports = [new EndpointPort { Port = 8080 }] }],
    };

    private static string[] Errors(CatalogUpdate update)
        => Assert.Throws<CatalogValidationException>(() => new ServiceCatalog().Apply(update)).Errors.Select(e => e.ToString()).ToArray();

    private static string[] Errors(Service service) => Errors(new CatalogUpdate().SetService(service));

    private static string[] Errors(Pod pod) => Errors(new CatalogUpdate().SetPod(pod));

    private static string[] Errors(EndpointSlice slice) => Errors(new CatalogUpdate().SetEndpointSlice(slice));

    private static string[] Errors(Endpoints endpoints) => Errors(new CatalogUpdate().SetEndpoints(endpoints));

    // ---- Service: metadata, type, addressing ----

    [Theory]
    [InlineData("1web", "must consist of lower case alphanumeric characters or '-', start with a letter, and end with an alphanumeric character, got \"1web\"")]
    [InlineData("web-", "must consist of lower case alphanumeric characters or '-', start with a letter, and end with an alphanumeric character, got \"web-\"")]
    [InlineData("web.front", "must consist of lower case alphanumeric characters or '-', start with a letter, and end with an alphanumeric character, got \"web.front\"")]
    [InlineData("", "required")]
    public void Service_Name_IsADns1035Label(string name, string message)
        => Assert.Equal([$"service default/{name}: metadata.name: {message}"], Errors(Web() with { Name = name }));

    [Fact]
    public void Service_Name_AtMost63Characters()
    {
        var name = new string('w', 64);
        Assert.Equal([$"service default/{name}: metadata.name: must be no more than 63 characters, got 64"], Errors(Web() with { Name = name }));
    }

    [Fact]
    public void Service_Type_MustBeDefined()
        => Assert.Equal(
            ["service default/web: spec.type: unsupported value \"9\"; supported: ClusterIP, NodePort, LoadBalancer, ExternalName"],
            Errors(Web() with { Type = (ServiceType)9 }));

    [Theory]
    [InlineData(null, "required for ExternalName services")]
    [InlineData("", "required for ExternalName services")]
    [InlineData(".", "required for ExternalName services")]
    [InlineData("Db.Example.com", DnsSubdomainMessage + ", got \"Db.Example.com\"")]
    [InlineData("db..example.com", DnsSubdomainMessage + ", got \"db..example.com\"")]
    [InlineData("db.example.com..", DnsSubdomainMessage + ", got \"db.example.com.\"")]
    [InlineData("db_1.example.com", DnsSubdomainMessage + ", got \"db_1.example.com\"")]
    public void ExternalName_IsARequiredDnsSubdomain(string? externalName, string message)
        => Assert.Equal([$"service default/web: spec.externalName: {message}"], Errors(Alias(externalName)));

    [Fact]
    public void ExternalName_AtMost253Characters()
    {
        var name = string.Join('.', Enumerable.Repeat(new string('a', 63), 4)); // 255 characters
        Assert.Equal(["service default/web: spec.externalName: must be no more than 253 characters, got 255"], Errors(Alias(name)));
    }

    [Fact]
    public void ExternalName_WithClusterIPOrHeadless_Rejected()
    {
        const string expected = "service default/web: spec.clusterIP: must be empty for ExternalName services";
        Assert.Equal([expected], Errors(Alias() with { ClusterIP = IPAddress.Parse("127.96.0.10") }));
        Assert.Equal([expected], Errors(Alias() with { Headless = true }));
    }

    [Theory]
    [InlineData(ServiceType.NodePort)]
    [InlineData(ServiceType.LoadBalancer)]
    public void Headless_OnlyWithTypeClusterIP(ServiceType type)
        => Assert.Equal([$"service default/web: spec.clusterIP: may not be set to 'None' for {type} services"], Errors(Web(type) with { Headless = true }));

    [Fact]
    public void Headless_WithClusterIP_Rejected()
        => Assert.Equal(
            ["service default/web: spec.clusterIP: must be None (headless) or an address, not both; got None and 127.96.0.10"],
            Errors(Web() with { Headless = true, ClusterIP = IPAddress.Parse("127.96.0.10") }));

    [Theory]
    [InlineData(ServiceType.ClusterIP)]
    [InlineData(ServiceType.NodePort)]
    [InlineData(ServiceType.LoadBalancer)]
    public void Ports_AtLeastOneUnlessHeadlessOrExternalName(ServiceType type)
        => Assert.Equal(["service default/web: spec.ports: must have at least one port"], Errors(Web(type) with { Ports = [] }));

    // ---- Service: ports ----

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(65536)]
    public void Port_Is1To65535(int port)
        => Assert.Equal([$"service default/web: spec.ports[0].port: must be 1-65535, got {port}"], Errors(Web() with { Ports = [new ServicePort { Port = port }] }));

    [Theory]
    [InlineData(-1)]
    [InlineData(65536)]
    public void TargetPort_Is0Or1To65535(int targetPort)
        => Assert.Equal([$"service default/web: spec.ports[0].targetPort: must be 1-65535, got {targetPort}"], Errors(Web() with { Ports = [new ServicePort { Port = 80, TargetPort = targetPort }] }));

    [Theory]
    [InlineData("HTTP", "must contain only lower case alphanumeric characters (a-z, 0-9) and '-', got \"HTTP\"")]
    [InlineData("http_alt", "must contain only lower case alphanumeric characters (a-z, 0-9) and '-', got \"http_alt\"")]
    [InlineData("http-alternative", "must be no more than 15 characters, got 16")]
    [InlineData("8080", "must contain at least one letter (a-z), got \"8080\"")]
    [InlineData("", "must contain at least one letter (a-z), got \"\"")]
    [InlineData("http--alt", "must not contain consecutive hyphens, got \"http--alt\"")]
    [InlineData("-http", "must not begin or end with a hyphen, got \"-http\"")]
    [InlineData("http-", "must not begin or end with a hyphen, got \"http-\"")]
    public void TargetPortName_IsAnIanaServiceName(string name, string message)
        => Assert.Equal(
            [$"service default/web: spec.ports[0].targetPort: {message}"],
            Errors(Web() with { Ports = [new ServicePort { Port = 80, TargetPortName = name }] }));

    [Fact]
    public void TargetPortName_WithTargetPortNumber_Rejected()
        => Assert.Equal(
            ["service default/web: spec.ports[0].targetPort: must be a number or a name, not both; got 8080 and \"http\""],
            Errors(Web() with { Ports = [new ServicePort { Port = 80, TargetPort = 8080, TargetPortName = "http" }] }));

    [Theory]
    [InlineData("HTTP")]
    [InlineData("http_1")]
    [InlineData("-http")]
    public void PortName_IsADnsLabel(string name)
        => Assert.Equal(
            [$"service default/web: spec.ports[0].name: {DnsLabelMessage}, got \"{name}\""],
            Errors(Web() with { Ports = [new ServicePort { Name = name, Port = 80 }] }));

    [Fact]
    public void PortProtocol_MustBeDefined()
        => Assert.Equal(
            ["service default/web: spec.ports[0].protocol: unsupported value \"5\"; supported: Tcp, Udp"],
            Errors(Web() with { Ports = [new ServicePort { Port = 80, Protocol = (ServiceProtocol)5 }] }));

    [Fact]
    public void NodePort_NotForClusterIPOrExternalName()
    {
        Assert.Equal(
            ["service default/web: spec.ports[0].nodePort: may not be used when `type` is 'ClusterIP'"],
            Errors(Web() with { Ports = [new ServicePort { Port = 80, NodePort = 30080 }] }));
        Assert.Equal(
            ["service default/web: spec.ports[0].nodePort: may not be used when `type` is 'ExternalName'"],
            Errors(Alias() with { Ports = [new ServicePort { Port = 80, NodePort = 30080 }] }));
    }

    [Theory]
    [InlineData(ServiceType.NodePort, 80)]
    [InlineData(ServiceType.NodePort, 29999)]
    [InlineData(ServiceType.LoadBalancer, 32768)]
    [InlineData(ServiceType.LoadBalancer, -1)]
    public void NodePort_InTheNodePortRange(ServiceType type, int nodePort)
        => Assert.Equal(
            [$"service default/web: spec.ports[0].nodePort: must be 30000-32767, got {nodePort}"],
            Errors(Web(type) with { Ports = [new ServicePort { Port = 80, NodePort = nodePort }] }));

    [Fact]
    public void NodePort_DuplicateWithSameProtocol_Rejected()
        => Assert.Equal(
            ["service default/web: spec.ports[1].nodePort: duplicate node port 30080/Tcp"],
            Errors(Web(ServiceType.NodePort) with
            {
                Ports = [new ServicePort { Name = "http", Port = 80, NodePort = 30080 }, new ServicePort { Name = "alt", Port = 8080, NodePort = 30080 }],
            }));

    // ---- Service: external addresses ----

    [Theory]
    [InlineData("0.0.0.0")]
    [InlineData("::")]
    [InlineData("224.0.0.1")]
    [InlineData("239.255.255.250")]
    [InlineData("255.255.255.255")]
    [InlineData("ff02::1")]
    [InlineData("::ffff:224.0.0.1")]
    public void ExternalIPs_AreUnicast(string address)
        => Assert.Equal(
            [$"service default/web: spec.externalIPs[0]: must be a unicast IP address, got {address}"],
            Errors(Web() with { ExternalIPs = [IPAddress.Parse(address)] }));

    [Fact]
    public void ExternalIPs_Duplicate_Rejected()
        => Assert.Equal(
            ["service default/web: spec.externalIPs[2]: duplicate value \"192.0.2.1\""],
            Errors(Web() with { ExternalIPs = [IPAddress.Parse("192.0.2.1"), IPAddress.Parse("192.0.2.2"), IPAddress.Parse("192.0.2.1")] }));

    [Theory]
    [InlineData(ServiceType.ClusterIP)]
    [InlineData(ServiceType.NodePort)]
    public void LoadBalancerFields_OnlyForTypeLoadBalancer(ServiceType type)
    {
        Assert.Equal(
            ["service default/web: spec.loadBalancerIP: may only be used when `type` is 'LoadBalancer'"],
            Errors(Web(type) with { LoadBalancerIP = IPAddress.Parse("192.0.2.10") }));
        Assert.Equal(
            ["service default/web: status.loadBalancer.ingress: may only be used when `spec.type` is 'LoadBalancer'"],
            Errors(Web(type) with { LoadBalancerIngress = [IPAddress.Parse("192.0.2.10"), IPAddress.Parse("192.0.2.11")] }));
        Assert.Equal(
            ["service default/web: spec.loadBalancerSourceRanges: may only be used when `type` is 'LoadBalancer'"],
            Errors(Web(type) with { LoadBalancerSourceRanges = [IPNetwork.Parse("10.0.0.0/8")] }));
    }

    [Fact]
    public void LoadBalancerAddresses_AreUnicast()
    {
        Assert.Equal(
            ["service default/web: spec.loadBalancerIP: must be a unicast IP address, got 0.0.0.0"],
            Errors(Web(ServiceType.LoadBalancer) with { LoadBalancerIP = IPAddress.Any }));
        Assert.Equal(
            ["service default/web: status.loadBalancer.ingress[1].ip: must be a unicast IP address, got 224.0.0.1"],
            Errors(Web(ServiceType.LoadBalancer) with { LoadBalancerIngress = [IPAddress.Parse("192.0.2.10"), IPAddress.Parse("224.0.0.1")] }));
    }

    [Fact]
    public void LoadBalancerSourceRange_WithHostBits_IsMaskedByIPNetwork()
    {
        // Kubernetes' "no host bits" rule holds by construction: IPNetwork clears them when it parses.
        var snapshot = new ServiceCatalog().SetService(Web(ServiceType.LoadBalancer) with { LoadBalancerSourceRanges = [IPNetwork.Parse("10.0.0.1/8")] });
        var range = Assert.Single(snapshot.Services[new("default", "web")].Service.LoadBalancerSourceRanges);
        Assert.Equal(IPNetwork.Parse("10.0.0.0/8"), range);
    }

    // ---- Service: enums and policies ----

    [Theory]
    [InlineData("spec.sessionAffinity", "None, ClientIP")]
    [InlineData("spec.internalTrafficPolicy", "Cluster, Local")]
    [InlineData("spec.externalTrafficPolicy", "Cluster, Local")]
    [InlineData("spec.trafficDistribution", "Default, PreferSameZone, PreferSameNode")]
    public void Enums_MustBeDefined(string field, string supported)
    {
        var service = field switch
        {
            "spec.sessionAffinity" => Web() with { SessionAffinity = (SessionAffinity)7 },
            "spec.internalTrafficPolicy" => Web() with { InternalTrafficPolicy = (TrafficPolicy)7 },
            "spec.externalTrafficPolicy" => Web(ServiceType.NodePort) with { ExternalTrafficPolicy = (TrafficPolicy)7 },
            _ => Web() with { TrafficDistribution = (TrafficDistribution)7 },
        };
        Assert.Equal([$"service default/web: {field}: unsupported value \"7\"; supported: {supported}"], Errors(service));
    }

    [Fact]
    public void ExternalTrafficPolicyLocal_OnlyForExternallyAccessibleServices()
    {
        const string expected = "service default/web: spec.externalTrafficPolicy: may only be set to Local for externally-accessible services (type NodePort or LoadBalancer, or with spec.externalIPs)";
        Assert.Equal([expected], Errors(Web() with { ExternalTrafficPolicy = TrafficPolicy.Local }));
        Assert.Equal([expected], Errors(Alias() with { ExternalTrafficPolicy = TrafficPolicy.Local }));

        // With external IPs a ClusterIP service is reachable from outside, as Kubernetes' ExternallyAccessible says.
        new ServiceCatalog().SetService(Web() with { ExternalTrafficPolicy = TrafficPolicy.Local, ExternalIPs = [IPAddress.Parse("192.0.2.1")] });
    }

    // ---- Labels: service selector and pod labels ----

    [Theory]
    [InlineData("-app", "web", "name part must consist of alphanumeric characters, '-', '_' or '.', and start and end with an alphanumeric character, got \"-app\"")]
    [InlineData("app_", "web", "name part must consist of alphanumeric characters, '-', '_' or '.', and start and end with an alphanumeric character, got \"app_\"")]
    [InlineData("app name", "web", "name part must consist of alphanumeric characters, '-', '_' or '.', and start and end with an alphanumeric character, got \"app name\"")]
    [InlineData("Example.com/app", "web", "prefix part " + DnsSubdomainMessage + ", got \"Example.com\"")]
    [InlineData("/app", "web", "prefix part must not be empty")]
    [InlineData("example.com/", "web", "name part must not be empty")]
    [InlineData("a/b/c", "web", "must be a name with an optional DNS subdomain prefix and '/' (e.g. 'example.com/my-name'), got \"a/b/c\"")]
    [InlineData("app", "web front", LabelValueMessage + ", got \"web front\"")]
    [InlineData("app", "-web", LabelValueMessage + ", got \"-web\"")]
    [InlineData("app", "web.", LabelValueMessage + ", got \"web.\"")]
    public void Selector_KeysAndValuesAreLabels(string key, string value, string message)
        => Assert.Equal(
            [$"service default/web: spec.selector[{key}]: {message}"],
            Errors(Web() with { Selector = new LabelSelector(new Dictionary<string, string> { [key] = value }) }));

    [Fact]
    public void Labels_NameAndValueAtMost63Characters_PrefixAtMost253()
    {
        var longName = new string('a', 64);
        var longPrefix = string.Join('.', Enumerable.Repeat(new string('a', 63), 4)); // 255 characters
        Assert.Equal(
            [
                $"pod default/web-1: metadata.labels[{longPrefix}/app]: prefix part must be no more than 253 characters, got 255",
                $"pod default/web-1: metadata.labels[{longName}]: name part must be no more than 63 characters, got 64",
                $"pod default/web-1: metadata.labels[tier]: must be no more than 63 characters, got 64",
            ],
            Errors(WebPod() with
            {
                Labels = new Dictionary<string, string> { [longName] = "x", ["tier"] = longName, [$"{longPrefix}/app"] = "x" },
            }));
    }

    [Fact]
    public void PodLabels_KeyInThePath()
        => Assert.Equal(
            [$"pod default/web-1: metadata.labels[app/x]: {LabelValueMessage}, got \"_web\""],
            Errors(WebPod() with { Labels = new Dictionary<string, string> { ["app/x"] = "_web", ["App_1"] = "Ok" } }));

    // ---- Pod ----

    [Theory]
    [InlineData("Web-1", DnsSubdomainMessage + ", got \"Web-1\"")]
    [InlineData("web_1", DnsSubdomainMessage + ", got \"web_1\"")]
    [InlineData("", "required")]
    public void Pod_Name_IsADnsSubdomain(string name, string message)
        => Assert.Equal([$"pod default/{name}: metadata.name: {message}"], Errors(WebPod() with { Name = name }));

    [Theory]
    [InlineData("0.0.0.0")]
    [InlineData("224.0.0.1")]
    public void Pod_Address_IsUnicast(string address)
        => Assert.Equal([$"pod default/web-1: status.podIP: must be a unicast IP address, got {address}"], Errors(WebPod() with { Address = IPAddress.Parse(address) }));

    [Theory]
    [InlineData("spec.nodeName", "Node_1", DnsSubdomainMessage)]
    [InlineData("spec.hostname", "web.1", DnsLabelMessage)]
    [InlineData("spec.subdomain", "Web", DnsLabelMessage)]
    [InlineData("node.metadata.labels[topology.kubernetes.io/zone]", "eu west", LabelValueMessage)]
    public void Pod_PlacementAndDnsNames(string field, string value, string message)
    {
        var pod = field switch
        {
            "spec.nodeName" => WebPod() with { NodeName = value },
            "spec.hostname" => WebPod() with { Hostname = value },
            "spec.subdomain" => WebPod() with { Subdomain = value },
            _ => WebPod() with { Zone = value },
        };
        Assert.Equal([$"pod default/web-1: {field}: {message}, got \"{value}\""], Errors(pod));
    }

    [Fact]
    public void Pod_ContainerPorts_NumberNameAndProtocol_EveryErrorReported()
        => Assert.Equal(
            [
                "pod default/web-1: spec.containers[*].ports[1].name: duplicate value \"http\"",
                "pod default/web-1: spec.containers[*].ports[2].containerPort: must be 1-65535, got 0",
                "pod default/web-1: spec.containers[*].ports[2].name: must contain only lower case alphanumeric characters (a-z, 0-9) and '-', got \"HTTP\"",
                "pod default/web-1: spec.containers[*].ports[3].containerPort: must be 1-65535, got 70000",
                "pod default/web-1: spec.containers[*].ports[3].protocol: unsupported value \"5\"; supported: Tcp, Udp",
            ],
            Errors(WebPod() with
            {
                ContainerPorts =
                [
                    new ContainerPort { Name = "http", Port = 8080 },
                    new ContainerPort { Name = "http", Port = 8081, Protocol = ServiceProtocol.Udp },
                    new ContainerPort { Name = "HTTP", Port = 0 },
                    new ContainerPort { Port = 70000, Protocol = (ServiceProtocol)5 },
                ],
            }));

    // ---- EndpointSlice ----

    [Theory]
    [InlineData("Web-abc", "Web-abc", "web", "metadata.name", DnsSubdomainMessage + ", got \"Web-abc\"")]
    [InlineData("web-abc", "web-abc", "", "metadata.labels[kubernetes.io/service-name]", "required")]
    [InlineData("web-abc", "web-abc", "1web", "metadata.labels[kubernetes.io/service-name]", "must consist of lower case alphanumeric characters or '-', start with a letter, and end with an alphanumeric character, got \"1web\"")]
    public void Slice_NameAndServiceName(string name, string subjectName, string serviceName, string field, string message)
        => Assert.Equal([$"endpointslice default/{subjectName}: {field}: {message}"], Errors(Slice() with { Name = name, ServiceName = serviceName }));

    [Fact]
    public void Slice_Ports_NameNumberProtocolAndUniqueNames()
    {
        Assert.Equal(
            [
                $"endpointslice default/web-abc: ports[0].name: {DnsLabelMessage}, got \"HTTP\"",
                "endpointslice default/web-abc: ports[0].port: must be 1-65535, got 0",
                "endpointslice default/web-abc: ports[1].protocol: unsupported value \"5\"; supported: Tcp, Udp",
            ],
            Errors(Slice() with { Ports = [new EndpointPort { Name = "HTTP", Port = 0 }, new EndpointPort { Name = "dns", Port = 53, Protocol = (ServiceProtocol)5 }] }));

        // Kubernetes' discovery validation: names are unique whatever the protocol, and unnamed counts as a name.
        Assert.Equal(
            ["endpointslice default/web-abc: ports[1].name: duplicate value \"dns\""],
            Errors(Slice() with { Ports = [new EndpointPort { Name = "dns", Port = 53 }, new EndpointPort { Name = "dns", Port = 53, Protocol = ServiceProtocol.Udp }] }));
        Assert.Equal(
            ["endpointslice default/web-abc: ports[1].name: duplicate value \"\""],
            Errors(Slice() with { Ports = [new EndpointPort { Port = 8080 }, new EndpointPort { Port = 8081 }] }));
    }

    [Fact]
    public void Slice_Endpoint_HasOneTo100Addresses()
    {
        const string atLeastOne = "endpointslice default/web-abc: endpoints[0].addresses: must contain at least 1 address";
        Assert.Equal([atLeastOne], Errors(Slice() with { Endpoints = [new SliceEndpoint { Addresses = [] }] }));
        Assert.Equal([atLeastOne], Errors(Slice() with { Endpoints = [new SliceEndpoint { Addresses = default }] }));
        var many = Enumerable.Range(1, 101).Select(i => IPAddress.Parse($"127.0.2.{i}")).ToImmutableArray();
        Assert.Equal(
            ["endpointslice default/web-abc: endpoints[0].addresses: must have at most 100 items, got 101"],
            Errors(Slice() with { Endpoints = [new SliceEndpoint { Addresses = many }] }));
    }

    [Fact]
    public void Slice_AtMost1000Endpoints()
    {
        var endpoints = Enumerable.Range(0, 1001).Select(i => SliceEndpoint($"127.0.{2 + (i / 250)}.{1 + (i % 250)}")).ToImmutableArray();
        Assert.Equal(["endpointslice default/web-abc: endpoints: must have at most 1000 items, got 1001"], Errors(Slice() with { Endpoints = endpoints }));
    }

    [Theory]
    [InlineData("0.0.0.0")]
    [InlineData("::")]
    [InlineData("ff02::1")]
    [InlineData("255.255.255.255")]
    public void Slice_Addresses_AreUnicast(string address)
        => Assert.Equal(
            [$"endpointslice default/web-abc: endpoints[0].addresses[0]: must be a unicast IP address, got {address}"],
            Errors(Slice(address)));

    [Fact]
    public void Slice_Addresses_AllOfOneFamily()
        => Assert.Equal(
            ["endpointslice default/web-abc: endpoints[1].addresses[0]: all addresses of a slice must be of one family (IPv4 or IPv6), got ::1 after IPv4 addresses"],
            Errors(Slice("127.0.2.1", "::1", "127.0.2.2")));

    [Theory]
    [InlineData("endpoints[0].hostname", "Web", DnsLabelMessage)]
    [InlineData("endpoints[0].hostname", "", DnsLabelMessage)]
    [InlineData("endpoints[0].nodeName", "node_1", DnsSubdomainMessage)]
    [InlineData("endpoints[0].zone", "-a", LabelValueMessage)]
    public void Slice_Endpoint_DnsNamesAndPlacement(string field, string value, string message)
    {
        var endpoint = field switch
        {
            "endpoints[0].hostname" => SliceEndpoint() with { Hostname = value },
            "endpoints[0].nodeName" => SliceEndpoint() with { NodeName = value },
            _ => SliceEndpoint() with { Zone = value },
        };
        Assert.Equal([$"endpointslice default/web-abc: {field}: {message}, got \"{value}\""], Errors(Slice() with { Endpoints = [endpoint] }));
    }

    // ---- Endpoints (core/v1) ----

    [Fact]
    public void Endpoints_Name_IsADnsSubdomain()
        => Assert.Equal([$"endpoints default/Web: metadata.name: {DnsSubdomainMessage}, got \"Web\""], Errors(WebEndpoints() with { Name = "Web" }));

    [Fact]
    public void Endpoints_Subset_NeedsAnAddress()
        => Assert.Equal(
            ["endpoints default/web: subsets[0]: must specify `addresses` or `notReadyAddresses`"],
            Errors(WebEndpoints(new EndpointSubset { Ports = [new EndpointPort { Port = 8080 }] })));

    [Fact]
    public void Endpoints_Addresses_UnicastWithDnsNames()
        => Assert.Equal(
            [
                "endpoints default/web: subsets[0].addresses[0].ip: must be a unicast IP address, got 0.0.0.0",
                $"endpoints default/web: subsets[0].addresses[1].hostname: {DnsLabelMessage}, got \"Web\"",
                $"endpoints default/web: subsets[0].addresses[1].nodeName: {DnsSubdomainMessage}, got \"\"",
                "endpoints default/web: subsets[0].notReadyAddresses[0].ip: must be a unicast IP address, got 224.0.0.1",
            ],
            Errors(WebEndpoints(new EndpointSubset
            {
                Addresses = [Address("0.0.0.0"), Address("127.0.3.1") with { Hostname = "Web", NodeName = string.Empty }],
                NotReadyAddresses = [Address("224.0.0.1")],
                Ports = [new EndpointPort { Port = 8080 }],
            })));

    [Fact]
    public void Endpoints_Ports_NamedWhenSeveral_UniqueNumbered()
        => Assert.Equal(
            [
                "endpoints default/web: subsets[0].ports[0].name: required when more than one port",
                "endpoints default/web: subsets[0].ports[0].port: must be 1-65535, got 0",
                $"endpoints default/web: subsets[0].ports[1].name: {DnsLabelMessage}, got \"HTTP\"",
                "endpoints default/web: subsets[0].ports[3].name: duplicate value \"dns\"",
                "endpoints default/web: subsets[0].ports[3].protocol: unsupported value \"5\"; supported: Tcp, Udp",
            ],
            Errors(WebEndpoints(new EndpointSubset
            {
                Addresses = [Address("127.0.3.1")],
                Ports =
                [
                    new EndpointPort { Port = 0 },
                    new EndpointPort { Name = "HTTP", Port = 8080 },
                    new EndpointPort { Name = "dns", Port = 53 },
                    new EndpointPort { Name = "dns", Port = 54, Protocol = (ServiceProtocol)5 },
                ],
            })));

    [Fact]
    public void Lists_DefaultImmutableArray_RejectedAsNull()
    {
        Assert.Equal(["service default/web: spec.externalIPs: must not be null"], Errors(Web() with { ExternalIPs = default }));
        Assert.Equal(["pod default/web-1: spec.containers[*].ports: must not be null"], Errors(WebPod() with { ContainerPorts = default }));
        Assert.Equal(["endpointslice default/web-abc: endpoints: must not be null"], Errors(Slice() with { Endpoints = default }));
    }

    // ---- Whole batches ----

    [Fact]
    public void Batch_WithOneInvalidObject_ChangesNothingAndReportsEveryError()
    {
        var catalog = new ServiceCatalog();
        catalog.SetService(Web());
        var before = catalog.Current;

        var error = Assert.Throws<CatalogValidationException>(() => catalog.Apply(new CatalogUpdate()
            .SetPod(WebPod())
            .SetService(Web() with { Name = "api" })
            .SetEndpointSlice(Slice("0.0.0.0"))
            .SetEndpoints(WebEndpoints() with { Name = "Web" })));

        Assert.Equal(
            [
                "endpointslice default/web-abc: endpoints[0].addresses[0]: must be a unicast IP address, got 0.0.0.0",
                $"endpoints default/Web: metadata.name: {DnsSubdomainMessage}, got \"Web\"",
            ],
            error.Errors.Select(e => e.ToString()));
        Assert.Same(before, catalog.Current);
        Assert.Equal(before.Version, catalog.Current.Version);
        Assert.Equal([new NamespacedName("default", "web")], catalog.Current.Services.Keys);
        Assert.Empty(catalog.Current.Services[new("default", "web")].Ports[0].Endpoints);
    }

    [Fact]
    public void ValidExamplesOfEveryKind_Accepted()
    {
        var catalog = new ServiceCatalog();
        var snapshot = catalog.Apply(new CatalogUpdate()
            .SetService(Web() with
            {
                Selector = new LabelSelector(new Dictionary<string, string> { ["app.kubernetes.io/name"] = "Web_App.v1", ["tier"] = string.Empty }),
                Ports = [new ServicePort { Name = "http", Port = 80, TargetPortName = "http" }, new ServicePort { Name = "dns", Port = 53, Protocol = ServiceProtocol.Udp }],
                SessionAffinity = SessionAffinity.ClientIP,
                InternalTrafficPolicy = TrafficPolicy.Local,
                TrafficDistribution = TrafficDistribution.PreferSameZone,
                ExternalIPs = [IPAddress.Parse("192.0.2.1"), IPAddress.Parse("2001:db8::1")],
                ExternalTrafficPolicy = TrafficPolicy.Local,

                // Kubernetes accepts externalName on other types and ignores it (with a warning); so does the catalog.
                ExternalName = "ignored.example.com",
            })
            .SetService(Web(ServiceType.NodePort) with
            {
                Name = "dns",
                Ports =
                [
                    new ServicePort { Name = "dns-tcp", Port = 53, NodePort = 30053 },
                    new ServicePort { Name = "dns-udp", Port = 53, Protocol = ServiceProtocol.Udp, NodePort = 30053 },
                ],
            })
            .SetService(Web(ServiceType.LoadBalancer) with
            {
                Name = "edge",
                LoadBalancerIP = IPAddress.Parse("192.0.2.10"),
                LoadBalancerIngress = [IPAddress.Parse("192.0.2.11")],
                LoadBalancerSourceRanges = [IPNetwork.Parse("10.0.0.0/8"), IPNetwork.Parse("2001:db8::/32")],
                ExternalTrafficPolicy = TrafficPolicy.Local,
            })
            .SetService(Alias("db.example.com.") with { Name = "db", Ports = [] })
            .SetService(Web() with { Name = "peers", Headless = true, Ports = [] })
            .SetService(Web() with { Name = "static", Selector = null })
            .SetPod(WebPod() with
            {
                Name = "web-1.example",
                Labels = new Dictionary<string, string> { ["app"] = "web", ["example.com/track"] = "Stable_1" },
                ContainerPorts = [new ContainerPort { Name = "http", Port = 8080 }, new ContainerPort { Name = "metrics-2", Port = 9090 }],
                NodeName = "node-1.cluster.local",
                Zone = "eu-west-1a",
                Hostname = "web-1",
                Subdomain = "peers",
            })
            .SetEndpointSlice(Slice("::1", "2001:db8::5") with { ServiceName = "static", Ports = [new EndpointPort { Port = 8080 }] })
            .SetEndpoints(WebEndpoints(new EndpointSubset
            {
                Addresses = [Address("127.0.3.1") with { Hostname = "static-1", NodeName = "node-1" }],
                NotReadyAddresses = [Address("127.0.3.2")],
                Ports = [new EndpointPort { Port = 8080 }],
            }) with { Name = "static" }));

        Assert.Equal(1, snapshot.Version);
        Assert.Equal(["db", "dns", "edge", "peers", "static", "web"], snapshot.Services.Keys.Select(k => k.Name).Order(StringComparer.Ordinal));
    }
}

using System.Net;
using FastProxy.Catalog;
using FastProxy.Model;
using FastProxy.Tests;

namespace FastProxy.Services.Tests;

/// <summary>ClusterIP, NodePort, LoadBalancer, ExternalName, headless and externalIPs, end to end over real loopback sockets.</summary>
public sealed class ServiceTypeTests
{
    [Fact]
    public async Task ClusterIP_VirtualIP_ReachesEveryPod()
    {
        await using var host = ServiceTestHost.Create();
        var pods = host.StartBackends(3);
        await host.StartAsync(host.WebService(pods[0].EndPoint.Port), pods);

        Assert.Equal(["pod-1", "pod-2", "pod-3"], await ServiceTestHost.ReachedAsync(host.VirtualEndPoint, 9));
        Assert.Equal([host.VirtualEndPoint], host.Proxy.ListeningEndPoints);
        Assert.Empty(host.Snapshot().Ports[0].NodePortEndPoints);
    }

    [Fact]
    public async Task NodePort_Allocated_ListensOnTheNodeAddress_AndTheVirtualIP()
    {
        await using var host = ServiceTestHost.Create();
        var pods = host.StartBackends(2);
        await host.StartAsync(host.WebService(pods[0].EndPoint.Port) with { Type = ServiceType.NodePort }, pods);

        var port = host.Snapshot().Ports[0];
        var nodePort = port.Port.NodePort;
        Assert.InRange(nodePort, 30000, 32767);
        var nodeEndPoint = new IPEndPoint(host.NodeAddress, nodePort);
        Assert.Equal([nodeEndPoint], port.NodePortEndPoints.ToArray());

        Assert.Equal(["pod-1", "pod-2"], await ServiceTestHost.ReachedAsync(nodeEndPoint, 6));
        Assert.Equal(["pod-1", "pod-2"], await ServiceTestHost.ReachedAsync(host.VirtualEndPoint, 6));
        Assert.Contains(nodeEndPoint, host.Proxy.ListeningEndPoints);
    }

    [Fact]
    public async Task NodePort_Given_ListensOnThatPort()
    {
        await using var host = ServiceTestHost.Create();
        var pods = host.StartBackends(2);
        var service = host.WebService(pods[0].EndPoint.Port) with
        {
            Type = ServiceType.NodePort,
            Ports = [new ServicePort { Port = ServiceTestHost.ServicePort, TargetPort = pods[0].EndPoint.Port, NodePort = 31080 }],
        };
        await host.StartAsync(service, pods);

        Assert.Equal(31080, host.Snapshot().Ports[0].Port.NodePort);
        Assert.Equal(["pod-1", "pod-2"], await ServiceTestHost.ReachedAsync(new IPEndPoint(host.NodeAddress, 31080), 6));
    }

    [Fact]
    public async Task NodePort_Allocated_IsStableForTheSameServiceInANewCatalog()
    {
        await using var host = ServiceTestHost.Create();
        var pods = host.StartBackends(1);
        var service = host.WebService(pods[0].EndPoint.Port) with { Type = ServiceType.NodePort };
        await host.StartAsync(service, pods);
        var first = host.Snapshot().Ports[0].Port.NodePort;

        // A "restart": a new catalog given the same service, listening on another node address of this test
        // (and another virtual IP, as the first proxy still holds this one; the node port depends on neither).
        var secondNode = host.At(201);
        var restarted = ServiceTestHost.NewCatalog(secondNode);
        var (_, secondVirtualIP) = TestAddresses.Next();
        restarted.Apply(new CatalogUpdate().SetService(service with { ClusterIP = secondVirtualIP }).SetPod(ServiceTestHost.PodOf(pods[0])));
        await host.StartProxyAsync(restarted);

        Assert.Equal(first, restarted.Current.Services[ServiceTestHost.WebId].Ports[0].Port.NodePort);
        Assert.Equal("pod-1", await TestClient.WhoServesAsync(new IPEndPoint(secondNode, first)));
    }

    [Fact]
    public async Task NodePort_AlreadyAllocated_SecondServiceRejected_FirstKeepsServing()
    {
        await using var host = ServiceTestHost.Create();
        var pods = host.StartBackends(1);
        await host.StartAsync(host.WebService(pods[0].EndPoint.Port) with { Type = ServiceType.NodePort }, pods);
        var nodePort = host.Snapshot().Ports[0].Port.NodePort;
        var version = host.Catalog.Current.Version;

        var (_, otherIP) = TestAddresses.Next();
        var other = new Service
        {
            Name = "other",
            Type = ServiceType.NodePort,
            ClusterIP = otherIP,
            Selector = ServiceTestHost.AppSelector(),
            Ports = [new ServicePort { Port = ServiceTestHost.ServicePort, TargetPort = pods[0].EndPoint.Port, NodePort = nodePort }],
        };

        var rejected = Assert.Throws<CatalogValidationException>(() => host.Catalog.SetService(other));
        var error = Assert.Single(rejected.Errors);
        Assert.Equal("service default/other", error.Subject);
        Assert.Equal("spec.ports[0].nodePort", error.Field);
        Assert.Contains("default/web", error.Message, StringComparison.Ordinal);
        Assert.Equal(version, host.Catalog.Current.Version);
        Assert.False(host.Catalog.Current.Services.ContainsKey(new NamespacedName("default", "other")));

        Assert.Equal("pod-1", await TestClient.WhoServesAsync(new IPEndPoint(host.NodeAddress, nodePort)));
        Assert.Equal(ServiceTestHost.Refused, await ServiceTestHost.OutcomeAsync(new IPEndPoint(otherIP, ServiceTestHost.ServicePort)));
    }

    [Fact]
    public async Task LoadBalancer_LoadBalancerIPAndIngress_Listen_AlongWithNodePortAndVirtualIP()
    {
        await using var host = ServiceTestHost.Create();
        var pods = host.StartBackends(2);
        var ingress = host.At(211);
        var service = host.WebService(pods[0].EndPoint.Port) with
        {
            Type = ServiceType.LoadBalancer,
            LoadBalancerIP = host.LoadBalancerIP,
            LoadBalancerIngress = [ingress],
        };
        await host.StartAsync(service, pods);

        var port = host.Snapshot().Ports[0];
        var lbEndPoint = new IPEndPoint(host.LoadBalancerIP, ServiceTestHost.ServicePort);
        var ingressEndPoint = new IPEndPoint(ingress, ServiceTestHost.ServicePort);
        var nodeEndPoint = new IPEndPoint(host.NodeAddress, port.Port.NodePort);
        Assert.Equal([lbEndPoint, ingressEndPoint], port.LoadBalancerEndPoints.ToArray());
        Assert.InRange(port.Port.NodePort, 30000, 32767);

        foreach (var endPoint in (IPEndPoint[])[lbEndPoint, ingressEndPoint, nodeEndPoint, host.VirtualEndPoint])
        {
            Assert.Equal(["pod-1", "pod-2"], await ServiceTestHost.ReachedAsync(endPoint, 6));
        }

        Assert.Equal(4, host.Proxy.ListeningEndPoints.Count);
    }

    [Fact]
    public async Task ExternalName_NothingListens_NoVirtualIP_NoPorts()
    {
        await using var host = ServiceTestHost.Create();
        var pods = host.StartBackends(1);

        // Even with ports and a selector, an ExternalName service is only an alias: nothing is bound (a cluster IP is rejected).
        var service = host.WebService(pods[0].EndPoint.Port) with { Type = ServiceType.ExternalName, ClusterIP = null, ExternalName = "db.example.com" };
        await host.StartAsync(service, pods);

        var snapshot = host.Snapshot();
        Assert.Null(snapshot.ClusterIP);
        Assert.Empty(snapshot.Ports);
        Assert.Empty(host.Proxy.ListeningEndPoints);
        Assert.Equal(ServiceTestHost.Refused, await ServiceTestHost.OutcomeAsync(host.VirtualEndPoint));
        Assert.Equal(0, pods[0].Accepted);
    }

    [Fact]
    public async Task ExternalName_ChangedToClusterIP_StartsListening_AndBack_StopsListening()
    {
        await using var host = ServiceTestHost.Create();
        var pods = host.StartBackends(1);
        var clusterIP = host.WebService(pods[0].EndPoint.Port);
        await host.StartAsync(clusterIP with { Type = ServiceType.ExternalName, ClusterIP = null, ExternalName = "db.example.com" }, pods);
        Assert.Empty(host.Proxy.ListeningEndPoints);

        await host.SetServiceAsync(clusterIP);
        Assert.Equal("pod-1", await TestClient.WhoServesAsync(host.VirtualEndPoint));

        await host.SetServiceAsync(clusterIP with { Type = ServiceType.ExternalName, ClusterIP = null, ExternalName = "db.example.com" });
        Assert.Empty(host.Proxy.ListeningEndPoints);
        Assert.Equal(ServiceTestHost.Refused, await ServiceTestHost.OutcomeAsync(host.VirtualEndPoint));
    }

    [Fact]
    public async Task Headless_NoVirtualIP_NoListener_AllEndpointsListThePods()
    {
        await using var host = ServiceTestHost.Create();
        var pods = host.StartBackends(2);
        var service = host.WebService(pods[0].EndPoint.Port) with { ClusterIP = null, Headless = true };
        host.Catalog.Apply(new CatalogUpdate()
            .SetService(service)
            .SetPod(ServiceTestHost.PodOf(pods[0]) with { Hostname = "pod-1", Subdomain = "web" })
            .SetPod(ServiceTestHost.PodOf(pods[1])));
        await host.StartProxyAsync();

        var snapshot = host.Snapshot();
        Assert.Null(snapshot.ClusterIP);
        var port = Assert.Single(snapshot.Ports);
        Assert.Null(port.VirtualEndPoint);
        Assert.Equal([pods[0].EndPoint, pods[1].EndPoint], port.AllEndpoints.Select(static e => e.EndPoint));
        Assert.Equal(["pod-1", null], port.AllEndpoints.Select(static e => e.Hostname));
        Assert.Empty(host.Proxy.ListeningEndPoints);

        // No allocated address either: nothing in the service CIDR answers for it.
        Assert.DoesNotContain(host.Catalog.Current.Services.Values, s => s.ClusterIP is not null);
        Assert.All(pods, static p => Assert.Equal(0, p.Accepted));
    }

    [Fact]
    public async Task ExternalIPs_OfAClusterIPService_Listen()
    {
        await using var host = ServiceTestHost.Create();
        var pods = host.StartBackends(2);
        IPAddress[] externalIPs = [host.At(220), host.At(221)];
        await host.StartAsync(host.WebService(pods[0].EndPoint.Port) with { ExternalIPs = [.. externalIPs] }, pods);

        foreach (var address in externalIPs)
        {
            Assert.Equal(["pod-1", "pod-2"], await ServiceTestHost.ReachedAsync(new IPEndPoint(address, ServiceTestHost.ServicePort), 6));
        }

        Assert.Equal(["pod-1", "pod-2"], await ServiceTestHost.ReachedAsync(host.VirtualEndPoint, 6));
        Assert.Equal(3, host.Proxy.ListeningEndPoints.Count);
    }

    [Fact]
    public async Task ExternalIP_Removed_StopsListening()
    {
        await using var host = ServiceTestHost.Create();
        var pods = host.StartBackends(1);
        var service = host.WebService(pods[0].EndPoint.Port) with { ExternalIPs = [host.At(220)] };
        await host.StartAsync(service, pods);
        var external = new IPEndPoint(host.At(220), ServiceTestHost.ServicePort);
        Assert.Equal("pod-1", await TestClient.WhoServesAsync(external));

        await host.SetServiceAsync(service with { ExternalIPs = [] });

        Assert.Equal(ServiceTestHost.Refused, await ServiceTestHost.OutcomeAsync(external));
        Assert.Equal("pod-1", await TestClient.WhoServesAsync(host.VirtualEndPoint));
    }

    [Fact]
    public async Task NodePort_KeptAcrossAnUnrelatedEdit_ListenerKeepsServing()
    {
        await using var host = ServiceTestHost.Create();
        var pods = host.StartBackends(2);
        var service = host.WebService(pods[0].EndPoint.Port) with { Type = ServiceType.NodePort };
        await host.StartAsync(service, pods);
        var nodePort = host.Snapshot().Ports[0].Port.NodePort;

        await host.SetServiceAsync(service with { Balancer = Balancing.BalancingStrategies.LeastConnections, SessionAffinity = SessionAffinity.ClientIP });

        Assert.Equal(nodePort, host.Snapshot().Ports[0].Port.NodePort);
        Assert.Equal("pod-1", await TestClient.WhoServesAsync(new IPEndPoint(host.NodeAddress, nodePort)));
    }

    [Fact]
    public async Task NodePort_ChangedToClusterIP_NodePortStopsListening_VirtualIPStays()
    {
        await using var host = ServiceTestHost.Create();
        var pods = host.StartBackends(1);
        var service = host.WebService(pods[0].EndPoint.Port);
        await host.StartAsync(service with { Type = ServiceType.LoadBalancer, LoadBalancerIP = host.LoadBalancerIP }, pods);
        var nodePort = new IPEndPoint(host.NodeAddress, host.Snapshot().Ports[0].Port.NodePort);
        var loadBalancer = new IPEndPoint(host.LoadBalancerIP, ServiceTestHost.ServicePort);
        Assert.Equal("pod-1", await TestClient.WhoServesAsync(nodePort));
        Assert.Equal("pod-1", await TestClient.WhoServesAsync(loadBalancer));

        await host.SetServiceAsync(service);

        Assert.Equal(0, host.Snapshot().Ports[0].Port.NodePort);
        Assert.Equal(ServiceTestHost.Refused, await ServiceTestHost.OutcomeAsync(nodePort));
        Assert.Equal(ServiceTestHost.Refused, await ServiceTestHost.OutcomeAsync(loadBalancer));
        Assert.Equal("pod-1", await TestClient.WhoServesAsync(host.VirtualEndPoint));
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(80)]
    [InlineData(70000)]
    public async Task NodePort_OutsideTheRange_Rejected_LastGoodStateKeepsServing(int nodePort)
    {
        await using var host = ServiceTestHost.Create();
        var pods = host.StartBackends(1);
        var service = host.WebService(pods[0].EndPoint.Port) with { Type = ServiceType.NodePort };
        await host.StartAsync(service, pods);
        var before = host.Catalog.Current;

        var bad = service with { Ports = [new ServicePort { Port = ServiceTestHost.ServicePort, TargetPort = pods[0].EndPoint.Port, NodePort = nodePort }] };
        var rejected = Assert.Throws<CatalogValidationException>(() => host.Catalog.SetService(bad));

        Assert.Contains(rejected.Errors, static e => e.Field == "spec.ports[0].nodePort");
        Assert.Same(before, host.Catalog.Current);
        Assert.Equal("pod-1", await TestClient.WhoServesAsync(host.VirtualEndPoint));

        // The catalog is not wedged: the next valid change to the service applies.
        await host.SetServiceAsync(service with { Ports = [new ServicePort { Port = ServiceTestHost.ServicePort, TargetPort = pods[0].EndPoint.Port, NodePort = 31080 }] });
        Assert.Equal("pod-1", await TestClient.WhoServesAsync(new IPEndPoint(host.NodeAddress, 31080)));
    }

    [Fact]
    public async Task ExternalIPOnANodeAddress_AtAnotherServicesNodePort_Rejected()
    {
        await using var host = ServiceTestHost.Create();
        var pods = host.StartBackends(2);
        var web = host.WebService(pods[0].EndPoint.Port) with
        {
            Type = ServiceType.NodePort,
            Ports = [new ServicePort { Port = ServiceTestHost.ServicePort, TargetPort = pods[0].EndPoint.Port, NodePort = 31080 }],
        };
        host.Catalog.Apply(new CatalogUpdate().SetService(web).SetPod(ServiceTestHost.PodOf(pods[0])).SetPod(ServiceTestHost.PodOf(pods[1], app: "api")));
        await host.StartProxyAsync();

        // api's external IP is the node address, and its port is web's node port: the same socket address.
        var (_, apiIP) = TestAddresses.Next();
        var api = new Service
        {
            Name = "api",
            ClusterIP = apiIP,
            Selector = ServiceTestHost.AppSelector("api"),
            ExternalIPs = [host.NodeAddress],
            Ports = [new ServicePort { Port = 31080, TargetPort = pods[0].EndPoint.Port }],
        };
        var rejected = Assert.Throws<CatalogValidationException>(() => host.Catalog.SetService(api));
        Assert.Contains(rejected.Errors, static e => e.Field == "spec.externalIPs[0]");

        Assert.Equal("pod-1", await TestClient.WhoServesAsync(new IPEndPoint(host.NodeAddress, 31080)));
    }

    [Fact]
    public async Task ExternalIP_MovedToAnotherServiceInOneBatch_ListensForTheNewOwner()
    {
        await using var host = ServiceTestHost.Create();
        var pods = host.StartBackends(2);
        var external = new IPEndPoint(host.At(220), ServiceTestHost.ServicePort);
        var (_, apiIP) = TestAddresses.Next();
        var web = host.WebService(pods[0].EndPoint.Port) with { ExternalIPs = [external.Address] };
        var api = new Service
        {
            Name = "api",
            ClusterIP = apiIP,
            Selector = ServiceTestHost.AppSelector("api"),
            Ports = [new ServicePort { Port = ServiceTestHost.ServicePort, TargetPort = pods[0].EndPoint.Port }],
        };
        host.Catalog.Apply(new CatalogUpdate().SetService(web).SetService(api).SetPod(ServiceTestHost.PodOf(pods[0])).SetPod(ServiceTestHost.PodOf(pods[1], app: "api")));
        await host.StartProxyAsync();
        Assert.Equal("pod-1", await TestClient.WhoServesAsync(external));

        // One version: web gives the address up, api takes it.
        await host.ApplyAsync(new CatalogUpdate().SetService(web with { ExternalIPs = [] }).SetService(api with { ExternalIPs = [external.Address] }));

        Assert.Contains(external, host.Proxy.ListeningEndPoints);
        Assert.Equal(["pod-2"], await ServiceTestHost.ReachedAsync(external, 3));
    }

    [Fact]
    public async Task ClusterIP_MovedToAnotherServiceInOneBatch_ListensForTheNewOwner()
    {
        await using var host = ServiceTestHost.Create();
        var pods = host.StartBackends(2);
        var (_, otherIP) = TestAddresses.Next();
        var web = host.WebService(pods[0].EndPoint.Port);
        var api = new Service
        {
            Name = "api",
            ClusterIP = otherIP,
            Selector = ServiceTestHost.AppSelector("api"),
            Ports = [new ServicePort { Port = ServiceTestHost.ServicePort, TargetPort = pods[0].EndPoint.Port }],
        };
        host.Catalog.Apply(new CatalogUpdate().SetService(web).SetService(api).SetPod(ServiceTestHost.PodOf(pods[0])).SetPod(ServiceTestHost.PodOf(pods[1], app: "api")));
        await host.StartProxyAsync();

        // One version: the two services swap addresses.
        await host.ApplyAsync(new CatalogUpdate().SetService(web with { ClusterIP = otherIP }).SetService(api with { ClusterIP = host.VirtualIP }));

        Assert.Equal(["pod-2"], await ServiceTestHost.ReachedAsync(host.VirtualEndPoint, 3));
        Assert.Equal(["pod-1"], await ServiceTestHost.ReachedAsync(new IPEndPoint(otherIP, ServiceTestHost.ServicePort), 3));
    }

    [Fact]
    public async Task ExternalIP_BindFailed_RetriedOnTheServicesNextChange()
    {
        await using var host = ServiceTestHost.Create();
        var pods = host.StartBackends(2);
        var external = new IPEndPoint(host.At(220), ServiceTestHost.ServicePort);

        // Something else holds the address when the service appears: the bind fails, the rest serves.
        var squatter = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetwork, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
        try
        {
            squatter.Bind(external);
            squatter.Listen(1);
            await host.StartAsync(host.WebService(pods[0].EndPoint.Port) with { ExternalIPs = [external.Address] }, pods.Take(1));
            Assert.DoesNotContain(external, host.Proxy.ListeningEndPoints);
            Assert.Equal("pod-1", await TestClient.WhoServesAsync(host.VirtualEndPoint));
        }
        finally
        {
            squatter.Dispose();
        }

        // The address is free now; the service's next change binds it.
        await host.SetPodAsync(ServiceTestHost.PodOf(pods[1]));

        Assert.Contains(external, host.Proxy.ListeningEndPoints);
        Assert.Equal(["pod-1", "pod-2"], await ServiceTestHost.ReachedAsync(external, 6));
    }
}

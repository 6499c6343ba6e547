using System.Net;
using FastProxy.Catalog;
using FastProxy.Model;
using FastProxy.Tests;

namespace FastProxy.Services.Tests;

/// <summary>Named target ports (<c>targetPort: http</c>) resolved per pod from its container ports, over real loopback sockets.</summary>
public sealed class NamedPortTests
{
    private static Pod PodWith(TestBackend backend, params ContainerPort[] ports)
        => ServiceTestHost.PodOf(backend) with { ContainerPorts = [.. ports] };

    private static Service Named(ServiceTestHost host, string targetPortName) => new()
    {
        Name = "web",
        ClusterIP = host.VirtualIP,
        Selector = ServiceTestHost.AppSelector(),
        Ports = [new ServicePort { Port = ServiceTestHost.ServicePort, TargetPortName = targetPortName }],
    };

    [Fact]
    public async Task PodsMappingTheNameToDifferentNumbers_BothReceive_PodWithoutTheName_None()
    {
        await using var host = ServiceTestHost.Create();
        var a = host.StartBackend("a", 1);
        var b = host.StartBackend("b", 2);
        var c = host.StartBackend("c", 3);
        Assert.NotEqual(a.EndPoint.Port, b.EndPoint.Port);
        host.Catalog.Apply(new CatalogUpdate()
            .SetService(Named(host, "http"))
            .SetPod(PodWith(a, new ContainerPort { Name = "http", Port = a.EndPoint.Port }))
            .SetPod(PodWith(b, new ContainerPort { Name = "metrics", Port = 9 }, new ContainerPort { Name = "http", Port = b.EndPoint.Port }))
            .SetPod(PodWith(c, new ContainerPort { Name = "metrics", Port = c.EndPoint.Port })));
        await host.StartProxyAsync();

        Assert.Equal([a.EndPoint, b.EndPoint], host.Snapshot().Ports[0].AllEndpoints.Select(static e => e.EndPoint));
        Assert.Equal(["a", "b"], await ServiceTestHost.ReachedAsync(host.VirtualEndPoint, 8));
        Assert.Equal(0, c.Accepted);
    }

    [Fact]
    public async Task MultiPortService_EachNamedPort_RoutesToItsOwnTarget()
    {
        await using var host = ServiceTestHost.Create();
        var aHttp = host.StartBackend("a-http", 1);
        var aAdmin = host.StartBackend("a-admin", 1);
        var bHttp = host.StartBackend("b-http", 2);
        var bAdmin = host.StartBackend("b-admin", 2);
        var service = new Service
        {
            Name = "web",
            ClusterIP = host.VirtualIP,
            Selector = ServiceTestHost.AppSelector(),
            Ports =
            [
                new ServicePort { Name = "web", Port = 8080, TargetPortName = "http" },
                new ServicePort { Name = "manage", Port = 9090, TargetPortName = "admin" },
            ],
        };
        host.Catalog.Apply(new CatalogUpdate()
            .SetService(service)
            .SetPod(PodWith(aHttp, new ContainerPort { Name = "http", Port = aHttp.EndPoint.Port }, new ContainerPort { Name = "admin", Port = aAdmin.EndPoint.Port }) with { Name = "a" })
            .SetPod(PodWith(bHttp, new ContainerPort { Name = "http", Port = bHttp.EndPoint.Port }, new ContainerPort { Name = "admin", Port = bAdmin.EndPoint.Port }) with { Name = "b" }));
        await host.StartProxyAsync();

        Assert.Equal(["a-http", "b-http"], await ServiceTestHost.ReachedAsync(new IPEndPoint(host.VirtualIP, 8080), 8));
        Assert.Equal(["a-admin", "b-admin"], await ServiceTestHost.ReachedAsync(new IPEndPoint(host.VirtualIP, 9090), 8));
    }

    [Fact]
    public async Task NameOfAnotherProtocol_DoesNotMatch()
    {
        await using var host = ServiceTestHost.Create();
        var a = host.StartBackend("a", 1);
        var b = host.StartBackend("b", 2);
        host.Catalog.Apply(new CatalogUpdate()
            .SetService(Named(host, "http"))
            .SetPod(PodWith(a, new ContainerPort { Name = "http", Port = a.EndPoint.Port }))
            .SetPod(PodWith(b, new ContainerPort { Name = "http", Port = b.EndPoint.Port, Protocol = ServiceProtocol.Udp })));
        await host.StartProxyAsync();

        Assert.Equal(["a"], await ServiceTestHost.ReachedAsync(host.VirtualEndPoint, 6));
        Assert.Equal(0, b.Accepted);
    }

    [Fact]
    public async Task PodRemapsTheName_TrafficFollowsToTheNewPort()
    {
        await using var host = ServiceTestHost.Create();
        var before = host.StartBackend("before", 1);
        var after = host.StartBackend("after", 1);
        var pod = PodWith(before, new ContainerPort { Name = "http", Port = before.EndPoint.Port }) with { Name = "a" };
        host.Catalog.Apply(new CatalogUpdate().SetService(Named(host, "http")).SetPod(pod));
        await host.StartProxyAsync();
        Assert.Equal(["before"], await ServiceTestHost.ReachedAsync(host.VirtualEndPoint, 3));

        await host.SetPodAsync(pod with { ContainerPorts = [new ContainerPort { Name = "http", Port = after.EndPoint.Port }] });

        Assert.Equal(["after"], await ServiceTestHost.ReachedAsync(host.VirtualEndPoint, 3));
        Assert.Equal(3, before.Accepted);
    }

    [Fact]
    public async Task OnlyPodWithoutTheName_ConnectionDropped()
    {
        await using var host = ServiceTestHost.Create();
        var a = host.StartBackend("a", 1);
        host.Catalog.Apply(new CatalogUpdate()
            .SetService(Named(host, "http"))
            .SetPod(PodWith(a, new ContainerPort { Name = "grpc", Port = a.EndPoint.Port })));
        await host.StartProxyAsync();

        Assert.Empty(host.Snapshot().Ports[0].AllEndpoints);
        await host.AssertDroppedAsync(host.VirtualEndPoint);
    }
}

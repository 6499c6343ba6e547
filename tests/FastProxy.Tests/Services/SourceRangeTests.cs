using System.Net;
using FastProxy.Model;
using FastProxy.Tests;

namespace FastProxy.Services.Tests;

/// <summary>
/// loadBalancerSourceRanges enforced at accept on the load-balancer addresses only, as kube-proxy does,
/// with clients bound to chosen loopback source addresses.
/// </summary>
public sealed class SourceRangeTests
{
    private static async Task<(ServiceTestHost Host, Service Service, TestBackend[] Pods)> StartAsync(Func<ServiceTestHost, IPNetwork[]> ranges)
    {
        var host = ServiceTestHost.Create();
        try
        {
            var pods = host.StartBackends(2);
            var service = host.WebService(pods[0].EndPoint.Port) with
            {
                Type = ServiceType.LoadBalancer,
                LoadBalancerIP = host.LoadBalancerIP,
                LoadBalancerIngress = [host.At(211)],
                LoadBalancerSourceRanges = [.. ranges(host)],
            };
            await host.StartAsync(service, pods);
            return (host, service, pods);
        }
        catch
        {
            await host.DisposeAsync();
            throw;
        }
    }

    private static readonly string[] Pods = ["pod-1", "pod-2"];

    private static IPEndPoint LoadBalancer(ServiceTestHost host) => new(host.LoadBalancerIP, ServiceTestHost.ServicePort);

    private static IPEndPoint Ingress(ServiceTestHost host) => new(host.At(211), ServiceTestHost.ServicePort);

    [Fact]
    public async Task ClientInsideTheRanges_GetsThrough_OnEveryLoadBalancerAddress()
    {
        var (host, _, _) = await StartAsync(static h => [h.AdmittedRange]);
        await using var __ = host;

        Assert.Equal(["pod-1", "pod-2"], await ServiceTestHost.ReachedAsync(LoadBalancer(host), 6, host.InsideClient));
        Assert.Equal(["pod-1", "pod-2"], await ServiceTestHost.ReachedAsync(Ingress(host), 6, host.At(239)));
    }

    [Fact]
    public async Task ClientOutsideTheRanges_RefusedBeforeAnyByte_NoBackendReached()
    {
        var (host, _, pods) = await StartAsync(static h => [h.AdmittedRange]);
        await using var _ = host;

        await host.AssertDroppedAsync(LoadBalancer(host), host.OutsideClient);
        await host.AssertDroppedAsync(Ingress(host), host.At(223));
        Assert.All(pods, static p => Assert.Equal(0, p.Accepted));
    }

    [Fact]
    public async Task NodePortAndVirtualIP_OfTheSameService_AreNotFiltered()
    {
        var (host, _, _) = await StartAsync(static h => [h.AdmittedRange]);
        await using var __ = host;
        var nodePort = new IPEndPoint(host.NodeAddress, host.Snapshot().Ports[0].Port.NodePort);

        Assert.Equal(["pod-1", "pod-2"], await ServiceTestHost.ReachedAsync(nodePort, 6, host.OutsideClient));
        Assert.Equal(["pod-1", "pod-2"], await ServiceTestHost.ReachedAsync(host.VirtualEndPoint, 6, host.OutsideClient));
        await host.AssertDroppedAsync(LoadBalancer(host), host.OutsideClient);
    }

    [Fact]
    public async Task SeveralRanges_AnyOneAdmits()
    {
        var (host, _, _) = await StartAsync(static h => [new IPNetwork(h.At(248), 30), h.AdmittedRange]);
        await using var __ = host;

        Assert.Contains(await TestClient.WhoServesAsync(LoadBalancer(host), host.At(250)), Pods);
        Assert.Contains(await TestClient.WhoServesAsync(LoadBalancer(host), host.InsideClient), Pods);
        await host.AssertDroppedAsync(LoadBalancer(host), host.At(253));
    }

    [Fact]
    public async Task NoRanges_AdmitEveryone()
    {
        var (host, _, _) = await StartAsync(static _ => []);
        await using var __ = host;

        Assert.Contains(await TestClient.WhoServesAsync(LoadBalancer(host), host.OutsideClient), Pods);
        Assert.Contains(await TestClient.WhoServesAsync(Ingress(host), host.InsideClient), Pods);
    }

    [Fact]
    public async Task RangesChanged_ApplyToTheListenerAlreadyBound()
    {
        var (host, service, _) = await StartAsync(static h => [h.AdmittedRange]);
        await using var _ = host;
        Assert.Contains(await TestClient.WhoServesAsync(LoadBalancer(host), host.InsideClient), Pods);
        await host.AssertDroppedAsync(LoadBalancer(host), host.OutsideClient);

        // Only the outside client's /32 now: the former inside client is refused, the outside one admitted.
        await host.SetServiceAsync(service with { LoadBalancerSourceRanges = [new IPNetwork(host.OutsideClient, 32)] });
        await host.AssertDroppedAsync(LoadBalancer(host), host.InsideClient);
        Assert.Contains(await TestClient.WhoServesAsync(LoadBalancer(host), host.OutsideClient), Pods);

        // No ranges: everyone again.
        await host.SetServiceAsync(service with { LoadBalancerSourceRanges = [] });
        Assert.Contains(await TestClient.WhoServesAsync(LoadBalancer(host), host.InsideClient), Pods);
    }

    [Fact]
    public async Task ExternalIPs_AreNotFiltered()
    {
        var host = ServiceTestHost.Create();
        await using var _ = host;
        var pods = host.StartBackends(1);
        await host.StartAsync(host.WebService(pods[0].EndPoint.Port) with
        {
            Type = ServiceType.LoadBalancer,
            LoadBalancerIP = host.LoadBalancerIP,
            ExternalIPs = [host.At(220)],
            LoadBalancerSourceRanges = [host.AdmittedRange],
        }, pods);

        Assert.Equal("pod-1", await TestClient.WhoServesAsync(new IPEndPoint(host.At(220), ServiceTestHost.ServicePort), host.OutsideClient));
        await host.AssertDroppedAsync(LoadBalancer(host), host.OutsideClient);
    }
}

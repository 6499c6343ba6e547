using System.Buffers.Binary;
using System.Net;
using FastProxy.Catalog;
using FastProxy.Forwarding.Udp;
using FastProxy.Model;
using FastProxy.Tests;
using FastProxy.Transport.Tests;

namespace FastProxy.Udp.Tests;

/// <summary>UDP datagrams through a service address over real loopback sockets: order, size, reply source, every address kind.</summary>
public sealed class UdpForwardingTests
{
    [Fact]
    public async Task ManyDatagrams_ComeBackInOrder_FromTheVirtualIP()
    {
        await using var host = UdpTestHost.Create();
        host.StartBackends(1);
        await host.StartAsync(host.EchoService());
        using var client = host.NewClient();

        // Bursts of 20 in flight at once: enough to reorder if anything queued them out of order, few
        // enough that no socket buffer on the way overflows (UDP would then lose, not reorder).
        const int Bursts = 25, PerBurst = 20;
        var received = new List<int>();
        for (var burst = 0; burst < Bursts; burst++)
        {
            for (var i = 0; i < PerBurst; i++)
            {
                var datagram = new byte[8 + (i * 37)];
                BinaryPrimitives.WriteInt32BigEndian(datagram, (burst * PerBurst) + i);
                await client.SendAsync(host.VirtualEndPoint, datagram);
            }

            for (var i = 0; i < PerBurst; i++)
            {
                var (data, from) = await client.ReceiveAsync();
                Assert.Equal(host.VirtualEndPoint, from);
                Assert.Equal(8 + (i * 37), data.Length);
                received.Add(BinaryPrimitives.ReadInt32BigEndian(data));
            }
        }

        Assert.Equal(Enumerable.Range(0, Bursts * PerBurst), received);

        // One client, one session, one upstream socket: the pod saw a single source for all of them.
        Assert.Single(host.Backends[0].Sources);
        Assert.Equal(1, host.Table.Count);
        Assert.Equal(Bursts * PerBurst, host.Table.Counters.DatagramsToEndpoint);

        // A reply is counted once its send completed, which can be just after the client already read it.
        await TestIO.EventuallyAsync(() => host.Table.Counters.DatagramsFromEndpoint >= Bursts * PerBurst);
        Assert.Equal(Bursts * PerBurst, host.Table.Counters.DatagramsFromEndpoint);
    }

    [Theory]
    [InlineData(65_507)] // the largest UDP payload over IPv4
    [InlineData(1)]
    [InlineData(0)]
    public async Task Datagram_IsForwardedIntact_BothWays(int size)
    {
        await using var host = UdpTestHost.Create();
        host.StartBackends(1);
        await host.StartAsync(host.EchoService());
        using var client = host.NewClient();
        var datagram = TestIO.Pattern(size, seed: 9);

        await client.SendAsync(host.VirtualEndPoint, datagram);
        var (data, from) = await client.ReceiveAsync();

        Assert.Equal(host.VirtualEndPoint, from);
        Assert.Equal(datagram, data);
        Assert.Equal(size, host.Table.Counters.BytesToEndpoint);

        // A reply is counted once its send completed, which can be just after the client already read it.
        await TestIO.EventuallyAsync(() => host.Table.Counters.DatagramsFromEndpoint > 0);
        Assert.Equal(size, host.Table.Counters.BytesFromEndpoint);
    }

    [Fact]
    public async Task NodePortExternalAndLoadBalancerAddresses_AllForward_AndReplyFromTheAddressUsed()
    {
        await using var host = UdpTestHost.Create();
        host.StartBackends(1);
        var service = host.EchoService() with
        {
            Type = ServiceType.LoadBalancer,
            ExternalIPs = [host.Host.At(220)],
            LoadBalancerIngress = [host.Host.LoadBalancerIP],
        };
        await host.StartAsync(service);
        var port = host.Catalog.Current.Services[UdpTestHost.EchoId].Ports[0];
        var addresses = new[] { host.VirtualEndPoint, port.NodePortEndPoints[0], port.ExternalEndPoints[0], port.LoadBalancerEndPoints[0] };
        Assert.Equal(addresses.Order(EndPointOrder.Instance), host.Host.Proxy.Udp.BoundEndPoints.Cast<IPEndPoint>().Order(EndPointOrder.Instance));

        using var client = host.NewClient();
        foreach (var address in addresses)
        {
            Assert.Equal("pod-1", await client.WhoAsync(address));
        }

        // One session per address the client used: each replies from its own socket.
        Assert.Equal(4, host.Table.Count);

        // The service goes: every UDP address closes and its sessions end.
        await host.Host.ApplyAsync(new CatalogUpdate().RemoveService(UdpTestHost.EchoId));
        Assert.Empty(host.Host.Proxy.Udp.BoundEndPoints);
        Assert.Null(host.Host.Proxy.Udp.TableOf(UdpTestHost.EchoId));
        await client.SendAsync(host.VirtualEndPoint, "who?"u8.ToArray());
        Assert.True(await client.NothingArrivesAsync(TimeSpan.FromMilliseconds(300)));
    }

    [Fact]
    public async Task LoadBalancerSourceRanges_DropOutsiders_AtReceive()
    {
        await using var host = UdpTestHost.Create();
        host.StartBackends(1);
        var service = host.EchoService() with
        {
            Type = ServiceType.LoadBalancer,
            LoadBalancerIngress = [host.Host.LoadBalancerIP],
            LoadBalancerSourceRanges = [host.Host.AdmittedRange],
        };
        await host.StartAsync(service);
        var loadBalancer = new IPEndPoint(host.Host.LoadBalancerIP, UdpTestHost.ServicePort);

        using var inside = host.NewClient(host.Host.InsideClient);
        using var outside = host.NewClient(host.Host.OutsideClient);
        Assert.Equal("pod-1", await inside.WhoAsync(loadBalancer));
        await outside.SendAsync(loadBalancer, "who?"u8.ToArray());
        Assert.True(await outside.NothingArrivesAsync(TimeSpan.FromMilliseconds(300)));
        Assert.Equal(1, host.Table.Counters.Dropped(UdpDrop.SourceRange));

        // The ranges apply to the load-balancer address only, as in Kubernetes.
        Assert.Equal("pod-1", await outside.WhoAsync(host.VirtualEndPoint));

        // Narrowed so the inside client is out too: its open session ends on its next datagram.
        await host.Host.SetServiceAsync(service with { LoadBalancerSourceRanges = [new IPNetwork(host.Host.At(1), 32)] });
        await inside.SendAsync(loadBalancer, "who?"u8.ToArray());
        Assert.True(await inside.NothingArrivesAsync(TimeSpan.FromMilliseconds(300)));
        Assert.Equal(2, host.Table.Counters.Dropped(UdpDrop.SourceRange));
    }

    [Fact]
    public async Task NoEndpoint_DropsDatagrams_AndCountsThem_ThenAPodComesAndAnswers()
    {
        await using var host = UdpTestHost.Create();
        host.StartBackends(1);
        host.Catalog.SetService(host.EchoService());
        await host.Host.StartProxyAsync();
        using var client = host.NewClient();

        await client.SendAsync(host.VirtualEndPoint, "who?"u8.ToArray());
        Assert.True(await client.NothingArrivesAsync(TimeSpan.FromMilliseconds(300)));
        Assert.Equal(1, host.Table.Counters.Dropped(UdpDrop.NoEndpoint));
        Assert.Equal(0, host.Table.Count);

        await host.Host.SetPodAsync(UdpTestHost.PodOf(host.Backends[0]));
        Assert.Equal("pod-1", await client.WhoAsync(host.VirtualEndPoint));
    }

    [Fact]
    public async Task Metrics_ReportSessionsDatagramsBytesAndDrops_PerService()
    {
        await using var host = UdpTestHost.Create();
        host.StartBackends(1);
        var service = host.EchoService() with { Name = "echo-metrics" };
        await host.StartAsync(service);
        var measurements = new System.Collections.Concurrent.ConcurrentBag<(string Instrument, long Value, Dictionary<string, object?> Tags)>();
        using var listener = new System.Diagnostics.Metrics.MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == ProxyServer.MeterName && instrument.Name.StartsWith("fastproxy.udp.", StringComparison.Ordinal))
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            var dictionary = new Dictionary<string, object?>();
            foreach (var tag in tags)
            {
                dictionary[tag.Key] = tag.Value;
            }

            measurements.Add((instrument.Name, value, dictionary));
        });
        listener.Start();

        using var client = host.NewClient();
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal("pod-1", await client.WhoAsync(host.VirtualEndPoint));
        }

        await host.Host.ApplyAsync(new CatalogUpdate().RemovePod(new NamespacedName("default", "pod-1")));
        await client.SendAsync(host.VirtualEndPoint, "who?"u8.ToArray());
        Assert.True(await client.NothingArrivesAsync(TimeSpan.FromMilliseconds(300)));
        listener.RecordObservableInstruments();

        long Of(string instrument, string? tag = null, string? value = null) => measurements
            .Single(m => m.Instrument == instrument && Equals(m.Tags["service"], "default/echo-metrics") && (tag is null || Equals(m.Tags[tag], value))).Value;

        Assert.Equal(0, Of("fastproxy.udp.sessions.active"));
        Assert.Equal(1, Of("fastproxy.udp.sessions"));
        Assert.Equal(1, Of("fastproxy.udp.sessions.ended", "reason", "closed"));
        Assert.Equal(0, Of("fastproxy.udp.sessions.ended", "reason", "expired"));
        Assert.Equal(0, Of("fastproxy.udp.sessions.ended", "reason", "evicted"));
        Assert.Equal(0, Of("fastproxy.udp.sessions.repicked"));
        Assert.Equal(3, Of("fastproxy.udp.datagrams", "direction", "to_endpoint"));
        Assert.Equal(3, Of("fastproxy.udp.datagrams", "direction", "from_endpoint"));
        Assert.Equal(3 * "who?".Length, Of("fastproxy.udp.bytes", "direction", "to_endpoint"));
        Assert.Equal(3 * "pod-1".Length, Of("fastproxy.udp.bytes", "direction", "from_endpoint"));
        Assert.Equal(1, Of("fastproxy.udp.datagrams.dropped", "reason", "no_endpoint"));
        Assert.Equal(0, Of("fastproxy.udp.datagrams.dropped", "reason", "source_range"));
    }

    private sealed class EndPointOrder : IComparer<IPEndPoint>
    {
        public static readonly EndPointOrder Instance = new();

        public int Compare(IPEndPoint? x, IPEndPoint? y) => string.CompareOrdinal(x?.ToString(), y?.ToString());
    }
}

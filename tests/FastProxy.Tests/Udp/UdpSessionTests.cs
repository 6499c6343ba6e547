using FastProxy.Balancing;
using FastProxy.Catalog;
using FastProxy.Forwarding.Udp;
using FastProxy.Model;
using FastProxy.Transport.Tests;
using Microsoft.Extensions.Time.Testing;

namespace FastProxy.Udp.Tests;

/// <summary>UDP sessions: idle expiry, re-pick when an endpoint goes (no blackhole), the cap with LRU eviction, affinity and hashing.</summary>
public sealed class UdpSessionTests
{
    private static readonly TimeSpan Quiet = TimeSpan.FromMilliseconds(300);

    [Fact]
    public async Task IdleSession_Expires_AfterTheServicesTimeout_ByTheCatalogClock()
    {
        var clock = new FakeTimeProvider();
        await using var host = UdpTestHost.Create(o => o.TimeProvider = clock);
        var pod = host.StartBackends(1)[0];
        await host.StartAsync(host.EchoService() with { Udp = new UdpSessionPolicy { IdleTimeout = TimeSpan.FromSeconds(10) } });
        using var client = host.NewClient();

        Assert.Equal("pod-1", await client.WhoAsync(host.VirtualEndPoint));
        clock.Advance(TimeSpan.FromSeconds(9));
        Assert.Equal(1, host.Table.Count);

        // Traffic restarts the idle clock: 9 s later (18 s after the first datagram) the session still holds.
        Assert.Equal("pod-1", await client.WhoAsync(host.VirtualEndPoint));
        clock.Advance(TimeSpan.FromSeconds(9));
        Assert.Equal(1, host.Table.Count);
        Assert.Single(pod.Sources);

        // 10 s and a sweep after the last datagram it is gone, counted as expired, its socket closed.
        clock.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal(0, host.Table.Count);
        Assert.Equal(1, host.Table.Counters.Ended(UdpSessionEnd.Expired));
        Assert.True(await TestIO.EventuallyAsync(() => host.Catalog.Current.Services[UdpTestHost.EchoId].Ports[0].AllEndpoints[0].ActiveConnections == 0));

        // The client's next datagram opens a new session: a new upstream socket, so a new source at the pod.
        Assert.Equal("pod-1", await client.WhoAsync(host.VirtualEndPoint));
        Assert.Equal(2, pod.Sources.Count);
        Assert.Equal(2, host.Table.Counters.Created);
    }

    [Fact]
    public async Task DefaultTimeout_Is30Seconds()
    {
        var clock = new FakeTimeProvider();
        await using var host = UdpTestHost.Create(o => o.TimeProvider = clock);
        host.StartBackends(1);
        await host.StartAsync(host.EchoService());
        using var client = host.NewClient();

        Assert.Equal("pod-1", await client.WhoAsync(host.VirtualEndPoint));
        clock.Advance(TimeSpan.FromSeconds(29));
        Assert.Equal(1, host.Table.Count);
        clock.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal(0, host.Table.Count);
    }

    public enum Departure
    {
        Removed,
        Unready,
        Terminating,
    }

    [Theory]
    [InlineData(Departure.Removed)]
    [InlineData(Departure.Unready)]
    [InlineData(Departure.Terminating)]
    public async Task SessionsEndpointLeaves_NextDatagramIsRepicked_AndAnswered(Departure departure)
    {
        await using var host = UdpTestHost.Create();
        var pods = host.StartBackends(2);
        await host.StartAsync(host.EchoService());

        // Round robin: two clients land on both pods.
        using var client = host.NewClient();
        using var bystander = host.NewClient();
        var served = await client.WhoAsync(host.VirtualEndPoint);
        var bystanderServed = await bystander.WhoAsync(host.VirtualEndPoint);
        Assert.NotEqual(served, bystanderServed);
        var leaving = pods.Single(p => p.Name == served);
        var staying = pods.Single(p => p.Name != served);

        var pod = UdpTestHost.PodOf(leaving);
        await host.Host.ApplyAsync(departure switch
        {
            Departure.Removed => new CatalogUpdate().RemovePod(new NamespacedName("default", leaving.Name)),
            Departure.Unready => new CatalogUpdate().SetPod(pod with { Ready = false }),
            _ => new CatalogUpdate().SetPod(pod with { Terminating = true }),
        });

        var received = leaving.Received;
        Assert.Equal(staying.Name, await client.WhoAsync(host.VirtualEndPoint));
        Assert.Equal(staying.Name, await client.WhoAsync(host.VirtualEndPoint));
        Assert.Equal(received, leaving.Received);
        Assert.Equal(1, host.Table.Counters.Repicked);
        Assert.Equal(2, host.Table.Count);

        // A client whose endpoint stayed keeps its session and socket untouched.
        Assert.Equal(staying.Name, await bystander.WhoAsync(host.VirtualEndPoint));
        Assert.Equal(1, host.Table.Counters.Repicked);
        Assert.Equal(2, host.Table.Counters.Created);
    }

    [Fact]
    public async Task LastEndpointLeaves_SessionEnds_DatagramsDrop_ThenANewPodAnswers()
    {
        await using var host = UdpTestHost.Create();
        var pods = host.StartBackends(2);
        await host.StartAsync(host.EchoService());
        using var client = host.NewClient();
        Assert.Equal("pod-1", await client.WhoAsync(host.VirtualEndPoint));

        await host.Host.ApplyAsync(new CatalogUpdate().RemovePod(new NamespacedName("default", "pod-1")).RemovePod(new NamespacedName("default", "pod-2")));

        await client.SendAsync(host.VirtualEndPoint, "who?"u8.ToArray());
        Assert.True(await client.NothingArrivesAsync(Quiet));
        Assert.Equal(0, host.Table.Count);
        Assert.Equal(1, host.Table.Counters.Ended(UdpSessionEnd.Closed));
        Assert.Equal(1, host.Table.Counters.Dropped(UdpDrop.NoEndpoint));

        await host.Host.SetPodAsync(UdpTestHost.PodOf(pods[1]));
        Assert.Equal("pod-2", await client.WhoAsync(host.VirtualEndPoint));
    }

    [Fact]
    public async Task SessionCap_EvictsTheLeastRecentlyUsed_AndKeepsSocketsBounded()
    {
        const int Cap = 4;
        await using var host = UdpTestHost.Create();
        host.StartBackends(2);
        await host.StartAsync(host.EchoService() with { Udp = new UdpSessionPolicy { MaxSessions = Cap } });
        var clients = Enumerable.Range(0, Cap).Select(_ => host.NewClient()).ToArray();
        foreach (var c in clients)
        {
            await c.WhoAsync(host.VirtualEndPoint);
        }

        // Client 0 is used again, so client 1 is now the least recently used: a fifth client evicts it.
        await clients[0].WhoAsync(host.VirtualEndPoint);
        using var fifth = host.NewClient();
        await fifth.WhoAsync(host.VirtualEndPoint);
        Assert.Equal(Cap, host.Table.Count);
        Assert.Equal(1, host.Table.Counters.Ended(UdpSessionEnd.Evicted));

        // Client 0 kept its session (no new one); client 1 gets a new one, evicting the next oldest.
        await clients[0].WhoAsync(host.VirtualEndPoint);
        Assert.Equal(Cap + 1, host.Table.Counters.Created);
        await clients[1].WhoAsync(host.VirtualEndPoint);
        Assert.Equal(Cap + 2, host.Table.Counters.Created);
        Assert.Equal(2, host.Table.Counters.Ended(UdpSessionEnd.Evicted));
    }

    [Fact]
    public async Task LoweringTheCap_EvictsTheOldestAtOnce_AndKeepsTheRest()
    {
        await using var host = UdpTestHost.Create();
        host.StartBackends(1);
        var service = host.EchoService() with { Udp = new UdpSessionPolicy { MaxSessions = 10 } };
        await host.StartAsync(service);
        var clients = Enumerable.Range(0, 6).Select(_ => host.NewClient()).ToArray();
        foreach (var c in clients)
        {
            await c.WhoAsync(host.VirtualEndPoint);
        }

        await host.Host.SetServiceAsync(service with { Udp = new UdpSessionPolicy { MaxSessions = 3 } });
        Assert.Equal(3, host.Table.Count);
        Assert.Equal(3, host.Table.Counters.Ended(UdpSessionEnd.Evicted));

        // The three most recent kept their sessions.
        foreach (var c in clients[3..])
        {
            await c.WhoAsync(host.VirtualEndPoint);
        }

        Assert.Equal(6, host.Table.Counters.Created);
    }

    [Fact]
    public async Task FloodOfClientAddressesAndPorts_StaysAtTheCap()
    {
        const int Cap = 32, Addresses = 40, PortsPerAddress = 10;
        await using var host = UdpTestHost.Create();
        host.StartBackends(2);
        await host.StartAsync(host.EchoService() with { Udp = new UdpSessionPolicy { MaxSessions = Cap } });

        // 400 distinct clients (40 source addresses x 10 source ports), what a spoofed flood looks like to the table.
        for (var a = 0; a < Addresses; a++)
        {
            var clients = Enumerable.Range(0, PortsPerAddress).Select(_ => new UdpTestClient(host.Host.At(100 + a))).ToArray();
            try
            {
                foreach (var c in clients)
                {
                    await c.SendAsync(host.VirtualEndPoint, "who?"u8.ToArray());
                }

                foreach (var c in clients)
                {
                    await c.ReceiveAsync();
                }
            }
            finally
            {
                foreach (var c in clients)
                {
                    c.Dispose();
                }
            }

            Assert.True(host.Table.Count <= Cap, $"{host.Table.Count} sessions after {a + 1} addresses");
        }

        Assert.Equal(Cap, host.Table.Count);
        Assert.Equal(Addresses * PortsPerAddress, host.Table.Counters.Created);
        Assert.Equal((Addresses * PortsPerAddress) - Cap, host.Table.Counters.Ended(UdpSessionEnd.Evicted));

        // Every session holds one upstream socket, counted on its endpoint: exactly the cap are open.
        Assert.True(
            await TestIO.EventuallyAsync(() => host.Catalog.Current.Services[UdpTestHost.EchoId].Ports[0].AllEndpoints.Sum(static e => e.ActiveConnections) == Cap),
            $"{host.Catalog.Current.Services[UdpTestHost.EchoId].Ports[0].AllEndpoints.Sum(static e => e.ActiveConnections)} upstream sockets open");
    }

    [Theory]
    [InlineData(BalancingStrategies.SourceIpHash, SessionAffinity.None)]
    [InlineData(BalancingStrategies.RoundRobin, SessionAffinity.ClientIP)]
    public async Task ClientAddressStrategies_KeepEveryPortOfOneClientOnOnePod(string balancer, SessionAffinity affinity)
    {
        await using var host = UdpTestHost.Create();
        host.StartBackends(3);
        await host.StartAsync(host.EchoService() with { Balancer = balancer, SessionAffinity = affinity });
        var address = host.Host.At(150);

        var served = new HashSet<string>();
        for (var i = 0; i < 9; i++)
        {
            using var client = new UdpTestClient(address);
            served.Add(await client.WhoAsync(host.VirtualEndPoint));
        }

        Assert.Single(served);
        Assert.Equal(9, host.Table.Counters.Created);
    }

    [Fact]
    public async Task RoundRobin_WithoutAffinity_SpreadsOneClientsPorts()
    {
        await using var host = UdpTestHost.Create();
        host.StartBackends(3);
        await host.StartAsync(host.EchoService());
        var address = host.Host.At(150);

        var served = new HashSet<string>();
        for (var i = 0; i < 9; i++)
        {
            using var client = new UdpTestClient(address);
            served.Add(await client.WhoAsync(host.VirtualEndPoint));
        }

        Assert.Equal(3, served.Count);
    }

    [Fact]
    public async Task Affinity_FollowsTheRepick_WhenTheClientsPodGoes()
    {
        await using var host = UdpTestHost.Create();
        var pods = host.StartBackends(3);
        await host.StartAsync(host.EchoService() with { SessionAffinity = SessionAffinity.ClientIP });
        var address = host.Host.At(150);
        using var client = new UdpTestClient(address);
        var first = await client.WhoAsync(host.VirtualEndPoint);

        await host.Host.ApplyAsync(new CatalogUpdate().RemovePod(new NamespacedName("default", first)));
        var second = await client.WhoAsync(host.VirtualEndPoint);
        Assert.NotEqual(first, second);

        // Other ports of the same client follow the client's new pod.
        for (var i = 0; i < 4; i++)
        {
            using var other = new UdpTestClient(address);
            Assert.Equal(second, await other.WhoAsync(host.VirtualEndPoint));
        }

        Assert.Contains(pods, p => p.Name == second);
    }
}

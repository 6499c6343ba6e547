using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using FastProxy.Balancing;
using FastProxy.Model;
using FastProxy.Tests;
using FastProxy.Transport.Sockets;
using FastProxy.Transport.Tests;
using Microsoft.AspNetCore.Connections;

namespace FastProxy.Forwarding.Tests;

/// <summary>Strategies, session affinity and connect retry, end to end over real loopback sockets.</summary>
public sealed class BalancingForwardingTests
{
    public static TheoryData<string> AllStrategies() =>
    [
        BalancingStrategies.RoundRobin, BalancingStrategies.WeightedRoundRobin, BalancingStrategies.Random,
        BalancingStrategies.LeastConnections, BalancingStrategies.PowerOfTwoChoices, BalancingStrategies.Maglev,
        BalancingStrategies.RingHash, BalancingStrategies.SourceIpHash, BalancingStrategies.BoundedLoad,
    ];

    /// <summary>Client source addresses of their own: 127.202.(block).(1..n).</summary>
    private static IPAddress[] Clients(int block, int count)
        => [.. Enumerable.Range(1, count).Select(i => new IPAddress([127, 202, (byte)block, (byte)i]))];

    private static async Task ReconfigureAsync(ProxyTestEnvironment env, Func<Service, Service> change)
    {
        var service = env.Catalog.Current.Services[new("default", "web")].Service;
        var snapshot = env.Catalog.SetService(change(service));
        await env.Proxy.WhenAppliedAsync(snapshot.Version).WaitAsync(TimeSpan.FromSeconds(10));
    }

    private static EndpointState Endpoint(ProxyTestEnvironment env, int pod)
        => env.Catalog.Current.Services[new("default", "web")].Ports[0].Endpoints.Single(e => e.Pod == new NamespacedName("default", $"web-{pod}"));

    [Fact]
    public async Task LeastConnections_LongLivedConnections_FillTheEmptiedPod()
    {
        await using var env = await ProxyTestEnvironment.StartAsync(pods: 3);
        await ReconfigureAsync(env, s => s with { Balancer = BalancingStrategies.LeastConnections });

        var open = new List<(TestClient Client, string Pod)>();
        for (var i = 0; i < 9; i++)
        {
            var client = await TestClient.ConnectAsync(env.VirtualEndPoint);
            open.Add((client, await client.ReadLineAsync()));
        }

        Assert.All(env.Backends, b => Assert.Equal(3, b.Active));

        // web-1's three connections end; least-connections sends the next three all to web-1 (round-robin would spread them).
        foreach (var (client, _) in open.Where(c => c.Pod == "web-1").ToList())
        {
            await client.DisposeAsync();
        }

        Assert.True(await TestIO.EventuallyAsync(() => Endpoint(env, 1).ActiveConnections == 0));
        var next = new List<TestClient>();
        var served = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            var client = await TestClient.ConnectAsync(env.VirtualEndPoint);
            next.Add(client);
            served.Add(await client.ReadLineAsync());
        }

        Assert.Equal(["web-1", "web-1", "web-1"], served);
        Assert.All(env.Catalog.Current.Services[new("default", "web")].Ports[0].Endpoints, e => Assert.Equal(3, e.ActiveConnections));
        foreach (var client in next.Concat(open.Where(c => c.Pod != "web-1").Select(c => c.Client)))
        {
            await client.DisposeAsync();
        }
    }

    [Fact]
    public async Task Affinity_EveryConnectionOfAClientGoesToOnePod_ClientsSpread()
    {
        await using var env = await ProxyTestEnvironment.StartAsync(pods: 3);
        await ReconfigureAsync(env, s => s with { SessionAffinity = SessionAffinity.ClientIP });

        var podOf = new Dictionary<IPAddress, string>();
        foreach (var client in Clients(1, 6))
        {
            var pods = new HashSet<string>();
            for (var i = 0; i < 5; i++)
            {
                pods.Add(await TestClient.WhoServesAsync(env.VirtualEndPoint, client));
            }

            podOf[client] = Assert.Single(pods);
        }

        // Each new client is balanced by the service's strategy (round-robin here): 6 clients, 2 per pod.
        Assert.All(podOf.Values.GroupBy(p => p), g => Assert.Equal(2, g.Count()));
    }

    [Fact]
    public async Task Affinity_PodRemoved_ClientRepickedAndSticksToTheNewPod()
    {
        await using var env = await ProxyTestEnvironment.StartAsync(pods: 3);
        await ReconfigureAsync(env, s => s with { SessionAffinity = SessionAffinity.ClientIP });
        var client = Clients(2, 1)[0];
        var first = await TestClient.WhoServesAsync(env.VirtualEndPoint, client);

        var snapshot = env.Catalog.RemovePod(new NamespacedName("default", first));
        await env.Proxy.WhenAppliedAsync(snapshot.Version).WaitAsync(TimeSpan.FromSeconds(10));

        var second = await TestClient.WhoServesAsync(env.VirtualEndPoint, client);
        Assert.NotEqual(first, second);
        for (var i = 0; i < 4; i++)
        {
            Assert.Equal(second, await TestClient.WhoServesAsync(env.VirtualEndPoint, client));
        }
    }

    [Fact]
    public async Task Affinity_PodDiesUnannounced_ClientRetriedAndSticksToALivingPod()
    {
        await using var env = await ProxyTestEnvironment.StartAsync(pods: 3);
        await ReconfigureAsync(env, s => s with { SessionAffinity = SessionAffinity.ClientIP });
        var client = Clients(3, 1)[0];
        var first = await TestClient.WhoServesAsync(env.VirtualEndPoint, client);

        // The pod's process dies; the catalog still lists it. Its connects are refused.
        await env.Backends.Single(b => b.Name == first).DisposeAsync();

        var second = await TestClient.WhoServesAsync(env.VirtualEndPoint, client);
        Assert.NotEqual(first, second);
        for (var i = 0; i < 4; i++)
        {
            Assert.Equal(second, await TestClient.WhoServesAsync(env.VirtualEndPoint, client));
        }

        Assert.Equal(1, Endpoint(env, int.Parse(first[4..], System.Globalization.CultureInfo.InvariantCulture)).FailedConnects);
    }

    [Theory]
    [MemberData(nameof(AllStrategies))]
    public async Task Retry_TwoDeadPodsOfFour_NoClientEverFails(string strategy)
    {
        await using var env = await ProxyTestEnvironment.StartAsync(pods: 4);
        await ReconfigureAsync(env, s => s with { Balancer = strategy });
        await env.Backends[0].DisposeAsync();
        await env.Backends[2].DisposeAsync();

        // 40 clients from 10 addresses: hashing strategies land many of them on a dead pod first, and
        // a retry must never go back to a pod this connection already found dead.
        var served = new List<string>();
        foreach (var client in Clients(4, 10))
        {
            for (var i = 0; i < 4; i++)
            {
                served.Add(await TestClient.WhoServesAsync(env.VirtualEndPoint, client));
            }
        }

        Assert.All(served, pod => Assert.Contains(pod, new[] { "web-2", "web-4" }));
        Assert.True(Endpoint(env, 1).FailedConnects + Endpoint(env, 3).FailedConnects > 0, "Some pick landed on a dead pod and was retried.");
    }

    [Fact]
    public async Task Retry_PodThatNeverAnswers_TimesOutAndTheNextPodServes()
    {
        await using var env = await ProxyTestEnvironment.StartAsync(pods: 2, b => b.Configure(o => o.ConnectTimeout = TimeSpan.FromMilliseconds(300)));
        var frozen = env.Backends[0].EndPoint;
        await env.Backends[0].DisposeAsync();
        using var blackhole = new BlackholeEndpoint(frozen);

        for (var i = 0; i < 4; i++)
        {
            Assert.Equal("web-2", await TestClient.WhoServesAsync(env.VirtualEndPoint));
        }

        // Round robin offers web-1 first to every client (each retry advances the cursor too): 4 timeouts, 4 retries served.
        Assert.Equal(4, Endpoint(env, 1).FailedConnects);
        Assert.Equal(0, Endpoint(env, 1).ActiveConnections);
    }

    [Fact]
    public async Task Retry_ConnectionFactoryThrowsAnything_NextPodServes_CountersBalanced()
    {
        var factory = new FailingConnectionFactory(new SocketConnectionFactory());
        await using var env = await ProxyTestEnvironment.StartAsync(pods: 2, b => b.UseConnectionFactory(factory));
        await ReconfigureAsync(env, s => s with { SessionAffinity = SessionAffinity.ClientIP });
        var web1 = Endpoint(env, 1);
        factory.Failing = web1.EndPoint;

        // Not a socket error: a user's connection factory may throw anything. It is web-1's failure all the same.
        foreach (var client in Clients(5, 4))
        {
            Assert.Equal("web-2", await TestClient.WhoServesAsync(env.VirtualEndPoint, client));
        }

        Assert.True(web1.FailedConnects > 0);
        Assert.True(await TestIO.EventuallyAsync(() => web1.ActiveConnections == 0 && web1.Load.ActiveConnections == 0), "Every connect and every connection was counted out again.");

        // The clients stuck to web-2, the endpoint that answered, not to the one that failed.
        factory.Failing = null;
        foreach (var client in Clients(5, 4))
        {
            Assert.Equal("web-2", await TestClient.WhoServesAsync(env.VirtualEndPoint, client));
        }
    }

    [Fact]
    public async Task Retry_TotalConnectTimeout_BoundsTheWaitWhenNoPodAnswers()
    {
        await using var env = await ProxyTestEnvironment.StartAsync(pods: 3, b => b.Configure(o =>
        {
            o.ConnectTimeout = TimeSpan.FromSeconds(2);
            o.ConnectTotalTimeout = TimeSpan.FromSeconds(2.5);
        }));
        var blackholes = new List<BlackholeEndpoint>();
        foreach (var backend in env.Backends)
        {
            var endPoint = backend.EndPoint;
            await backend.DisposeAsync();
            blackholes.Add(new BlackholeEndpoint(endPoint));
        }

        var watch = Stopwatch.StartNew();
        var error = await Assert.ThrowsAsync<SocketException>(async () =>
        {
            await using var client = await TestClient.ConnectAsync(env.VirtualEndPoint);
            await client.ReadToEndAsync();
        });
        watch.Stop();

        Assert.Equal(SocketError.ConnectionReset, error.SocketErrorCode);

        // Two attempts fit in the budget (2 s, then the 0.5 s left); three full attempts would take 6 s.
        // Only the first counts as the endpoint's failure: the second was cut short by the budget, not by the endpoint.
        Assert.InRange(watch.Elapsed, TimeSpan.FromSeconds(2.4), TimeSpan.FromSeconds(5));
        var endpoints = env.Catalog.Current.Services[new("default", "web")].Ports[0].Endpoints;
        Assert.Equal(1, endpoints.Sum(e => e.FailedConnects));
        Assert.True(await TestIO.EventuallyAsync(() => endpoints.All(e => e.ActiveConnections == 0)));
        blackholes.ForEach(b => b.Dispose());
    }

    /// <summary>Throws a non-socket exception for connects to one endpoint, as a user's factory might.</summary>
    private sealed class FailingConnectionFactory(IConnectionFactory inner) : IConnectionFactory
    {
        public IPEndPoint? Failing { get; set; }

        public ValueTask<ConnectionContext> ConnectAsync(EndPoint endpoint, CancellationToken cancellationToken = default)
            => endpoint.Equals(Failing) ? throw new InvalidOperationException("This factory cannot reach " + endpoint) : inner.ConnectAsync(endpoint, cancellationToken);
    }
}

using System.Net;
using FastProxy.Model;
using FastProxy.Tests;

namespace FastProxy.Connections.Tests;

/// <summary>
/// Each drain policy with a long-lived connection open through a real proxy while its pod leaves, turns
/// terminating, or its listener is removed. Deadlines run on a fake clock.
/// </summary>
public sealed class DrainPolicyTests
{
    private static readonly TimeSpan DrainTimeout = TimeSpan.FromSeconds(30);

    private static ConnectionPolicy Policy(DrainPolicy drain) => new() { Drain = drain, DrainTimeout = DrainTimeout };

    [Fact]
    public async Task Keep_PodRemoved_ConnectionRunsOn_NewConnectionsGoElsewhere()
    {
        await using var env = await PolicyTestEnvironment.StartAsync(Policy(DrainPolicy.Keep), pods: 2);
        var (client, pod) = await env.ConnectAsync();
        await using var _ = client;
        Assert.Equal("pod-1", pod);

        await env.RemovePodAsync(1);
        env.Time.Advance(TimeSpan.FromHours(0.5));

        await ConnectionAssert.EchoesAsync(client);
        Assert.Equal("pod-2", (await env.ConnectAsync()).Pod);
        Assert.Equal(1, env.Counter("fastproxy.drains", "policy=keep", "trigger=endpoint_removed"));
    }

    [Fact]
    public async Task Drain_PodRemoved_ConnectionWorksUntilDeadline_ThenReset()
    {
        await using var env = await PolicyTestEnvironment.StartAsync(Policy(DrainPolicy.Drain), pods: 2);
        var (client, _) = await env.ConnectAsync();
        await using var c = client;

        await env.RemovePodAsync(1);
        await ConnectionAssert.EchoesAsync(client);
        env.Time.Advance(DrainTimeout - TimeSpan.FromSeconds(1));
        await ConnectionAssert.EchoesAsync(client, "still here");
        Assert.Equal(0, env.Counter("fastproxy.connections.terminated"));

        env.Time.Advance(TimeSpan.FromSeconds(1));
        await ConnectionAssert.IsResetAsync(client);
        Assert.Equal(1, env.Counter("fastproxy.connections.terminated", "reason=drain_deadline"));
        Assert.Equal(1, env.Counter("fastproxy.drains", "policy=drain", "trigger=endpoint_removed"));

        // The other pod is untouched and serves new connections.
        Assert.Equal("pod-2", (await env.ConnectAsync()).Pod);
    }

    [Fact]
    public async Task Close_PodRemoved_ConnectionResetAtOnce_OtherPodsConnectionUntouched()
    {
        await using var env = await PolicyTestEnvironment.StartAsync(Policy(DrainPolicy.Close), pods: 2);
        var (first, pod1) = await env.ConnectAsync();
        var (second, pod2) = await env.ConnectAsync();
        await using var a = first;
        await using var b = second;
        Assert.Equal(["pod-1", "pod-2"], new[] { pod1, pod2 });

        await env.RemovePodAsync(1);

        await ConnectionAssert.IsResetAsync(first);
        await ConnectionAssert.EchoesAsync(second);
        Assert.Equal(1, env.Counter("fastproxy.connections.terminated", "reason=close_policy"));
    }

    [Fact]
    public async Task Close_PodTurnsTerminating_ConnectionResetAtOnce()
    {
        await using var env = await PolicyTestEnvironment.StartAsync(Policy(DrainPolicy.Close), pods: 2);
        var (client, _) = await env.ConnectAsync();
        await using var c = client;

        await env.TerminatePodAsync(1);

        await ConnectionAssert.IsResetAsync(client);
        Assert.Equal(1, env.Counter("fastproxy.drains", "policy=close", "trigger=endpoint_terminating"));
    }

    [Fact]
    public async Task Drain_TerminatingThenRemoved_OneDeadlineFromTheFirstTrigger()
    {
        await using var env = await PolicyTestEnvironment.StartAsync(Policy(DrainPolicy.Drain), pods: 2);
        var (client, _) = await env.ConnectAsync();
        await using var c = client;

        await env.TerminatePodAsync(1);
        env.Time.Advance(TimeSpan.FromSeconds(20));
        await env.RemovePodAsync(1);
        await ConnectionAssert.EchoesAsync(client);

        // The removal did not restart the 30 s: the deadline is 30 s after the pod turned terminating.
        env.Time.Advance(TimeSpan.FromSeconds(10));
        await ConnectionAssert.IsResetAsync(client);
    }

    [Fact]
    public async Task Keep_PodTurnsTerminating_ConnectionRunsOn()
    {
        await using var env = await PolicyTestEnvironment.StartAsync(Policy(DrainPolicy.Keep), pods: 2);
        var (client, _) = await env.ConnectAsync();
        await using var c = client;

        await env.TerminatePodAsync(1);
        env.Time.Advance(TimeSpan.FromMinutes(10));

        await ConnectionAssert.EchoesAsync(client);
    }

    [Theory]
    [InlineData(DrainPolicy.Keep)]
    [InlineData(DrainPolicy.Drain)]
    [InlineData(DrainPolicy.Close)]
    public async Task ListenerRemoved_NewConnectionsRefused_OpenOneFollowsPolicy(DrainPolicy drain)
    {
        // A second address (an external IP) listens too; removing it closes only its listener, the pod stays.
        var externalIP = TestAddresses.Next().VirtualIP;
        await using var env = await PolicyTestEnvironment.StartAsync(Policy(drain), customize: s => s with { ExternalIPs = [externalIP] });
        var external = new IPEndPoint(externalIP, ProxyTestEnvironment.ServicePort);
        var (client, _) = await env.ConnectAsync(external);
        await using var c = client;

        await env.UpdateServiceAsync(s => s with { ExternalIPs = [] });

        await ConnectionAssert.IsRefusedAsync(external);
        Assert.Equal("pod-1", (await env.ConnectAsync()).Pod);
        switch (drain)
        {
            case DrainPolicy.Keep:
                env.Time.Advance(DrainTimeout * 2);
                await ConnectionAssert.EchoesAsync(client);
                break;
            case DrainPolicy.Drain:
                env.Time.Advance(DrainTimeout - TimeSpan.FromSeconds(1));
                await ConnectionAssert.EchoesAsync(client);
                env.Time.Advance(TimeSpan.FromSeconds(1));
                await ConnectionAssert.IsResetAsync(client);
                break;
            default:
                await ConnectionAssert.IsResetAsync(client);
                break;
        }

        Assert.Equal(1, env.Counter("fastproxy.drains", "trigger=listener_removed"));
    }

    [Fact]
    public async Task Close_ServiceRemoved_ItsConnectionsFollowThePolicyTheyWereForwardedUnder()
    {
        await using var env = await PolicyTestEnvironment.StartAsync(Policy(DrainPolicy.Close));
        var (client, _) = await env.ConnectAsync();
        await using var c = client;

        await env.RemoveServiceAsync();

        await ConnectionAssert.IsResetAsync(client);
        await ConnectionAssert.IsRefusedAsync(env.VirtualEndPoint);
    }
}

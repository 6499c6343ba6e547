using System.Net;
using FastProxy.Catalog;
using FastProxy.Model;
using FastProxy.Services.Tests;
using FastProxy.Tests;
using FastProxy.Transport.Tests;

namespace FastProxy.Udp.Tests;

/// <summary>A real DNS server (dnsmasq) behind a UDP service, asked by a real DNS client (dig) through the virtual IP.</summary>
public sealed class UdpDnsTests
{
    private static readonly Dictionary<string, IPAddress> Records = new()
    {
        ["example.test"] = IPAddress.Parse("10.1.2.3"),
        ["other.test"] = IPAddress.Parse("10.4.5.6"),
        ["sticky.test"] = IPAddress.Parse("10.7.8.9"),
    };

    [Fact]
    public async Task Dig_ThroughTheVirtualIP_GetsDnsmasqsAnswers_AndKeepsGettingThemWhenAPodGoes()
    {
        var dig = ExternalTool.Require("dig", "bind9-dnsutils");
        await using var host = ServiceTestHost.Create();
        await using var first = await DnsmasqProcess.StartAsync(host.At(1), Records);
        await using var second = await DnsmasqProcess.StartAsync(host.At(2), Records, first.EndPoint.Port);
        var service = new Service
        {
            Name = "dns",
            ClusterIP = host.VirtualIP,
            Selector = ServiceTestHost.AppSelector("dns"),
            Ports = [new ServicePort { Name = "dns", Port = 53, TargetPort = first.EndPoint.Port, Protocol = ServiceProtocol.Udp }],
        };
        host.Catalog.Apply(new CatalogUpdate().SetService(service).SetPod(Pod("dns-1", host.At(1))).SetPod(Pod("dns-2", host.At(2))));
        await host.StartProxyAsync();
        var table = host.Proxy.Udp.TableOf(new NamespacedName("default", "dns"))!;

        // Two names in one dig run: two queries, each from its own source port (two sessions), over UDP only.
        var answers = await DigAsync(dig, host, "example.test", "other.test");
        Assert.True(answers.SequenceEqual(["10.1.2.3", "10.4.5.6"]), $"dig answered [{string.Join(", ", answers)}]\n{first.Log}\n{second.Log}");
        Assert.True(table.Counters.Created >= 2, $"{table.Counters.Created} sessions");
        Assert.True(table.Counters.DatagramsFromEndpoint >= 2, $"{table.Counters.DatagramsFromEndpoint} replies");

        // From one fixed source port, queries share one session: the pod that answered the first answers all.
        var sourcePort = FreePort(host.At(101));
        Assert.Equal(["10.7.8.9"], await DigAsync(dig, host, host.At(101), sourcePort, "sticky.test"));
        var sessions = table.Counters.Created;

        // dnsmasq logs each query (--log-queries) before it answers; its log reaches us through a pipe, a moment later.
        Assert.True(await TestIO.EventuallyAsync(() => first.Log.Contains("sticky.test", StringComparison.Ordinal) || second.Log.Contains("sticky.test", StringComparison.Ordinal)));
        var (serving, other) = first.Log.Contains("sticky.test", StringComparison.Ordinal) ? (first, second) : (second, first);
        Assert.Equal(["10.7.8.9"], await DigAsync(dig, host, host.At(101), sourcePort, "sticky.test"));
        Assert.Equal(sessions, table.Counters.Created);
        Assert.DoesNotContain("sticky.test", other.Log, StringComparison.Ordinal);

        // Its pod goes: the same session's next query is re-picked to the pod left and answered (no blackhole).
        var servingPod = serving == first ? "dns-1" : "dns-2";
        await host.ApplyAsync(new CatalogUpdate().RemovePod(new NamespacedName("default", servingPod)));
        Assert.Equal(["10.7.8.9"], await DigAsync(dig, host, host.At(101), sourcePort, "sticky.test"));
        Assert.Equal(sessions, table.Counters.Created);
        Assert.Equal(1, table.Counters.Repicked);
        Assert.True(await TestIO.EventuallyAsync(() => other.Log.Contains("sticky.test", StringComparison.Ordinal)), other.Log);
    }

    private static int FreePort(IPAddress address)
    {
        using var probe = new System.Net.Sockets.Socket(address.AddressFamily, System.Net.Sockets.SocketType.Dgram, System.Net.Sockets.ProtocolType.Udp);
        probe.Bind(new IPEndPoint(address, 0));
        return ((IPEndPoint)probe.LocalEndPoint!).Port;
    }

    private static Pod Pod(string name, IPAddress address) => new()
    {
        Name = name,
        Address = address,
        Labels = new Dictionary<string, string> { ["app"] = "dns" },
    };

    /// <summary>Runs dig from the test's client address against the service's virtual IP and returns its short answers.</summary>
    private static Task<string[]> DigAsync(string dig, ServiceTestHost host, params string[] names) => DigAsync(dig, host, host.At(100), 0, names);

    /// <summary>Runs dig from <paramref name="source"/> and <paramref name="sourcePort"/> (0: a new one per query).</summary>
    private static async Task<string[]> DigAsync(string dig, ServiceTestHost host, IPAddress source, int sourcePort, params string[] names)
    {
        string[] arguments = [$"@{host.VirtualIP}", "-p", "53", "-b", sourcePort == 0 ? source.ToString() : $"{source}#{sourcePort}", "+notcp", "+short", "+time=2", "+tries=2", .. names.SelectMany(static n => new[] { n, "A" })];
        var result = await ExternalTool.RunAsync(dig, arguments, TimeSpan.FromSeconds(30));
        Assert.True(result.ExitCode == 0, $"dig exited {result.ExitCode}: {result.StandardOutput}{result.StandardError}");
        return result.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
    }
}

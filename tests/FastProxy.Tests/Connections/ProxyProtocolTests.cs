using System.Net;
using System.Text;
using FastProxy.Model;
using FastProxy.Tests;
using FastProxy.Transport.Tests;
using Microsoft.Extensions.Logging;

namespace FastProxy.Connections.Tests;

/// <summary>
/// The PROXY protocol end to end: headers the proxy sends are read by a backend that parses them on its own;
/// headers a client (standing in for a load balancer in front) sends are parsed by the proxy and passed on.
/// </summary>
public sealed class ProxyProtocolTests
{
    private static Func<string, IPEndPoint, (IAsyncDisposable, IPEndPoint)> HeaderBackend => static (_, endPoint) =>
    {
        var server = ProxyHeaderBackend.Start(endPoint);
        return (server, server.EndPoint);
    };

    [Theory]
    [InlineData(ProxyProtocolVersion.V1, "v1")]
    [InlineData(ProxyProtocolVersion.V2, "v2")]
    public async Task Send_BackendSeesTheRealClientAndTheVirtualAddress(ProxyProtocolVersion version, string prefix)
    {
        await using var env = await PolicyTestEnvironment.StartAsync(new ConnectionPolicy { SendProxyProtocol = version }, backend: HeaderBackend);
        var source = IPAddress.Parse(env.PodPrefix + "200");
        await using var client = await TestClient.ConnectAsync(env.VirtualEndPoint, source);
        var port = ((IPEndPoint)client.Socket.LocalEndPoint!).Port;

        Assert.Equal($"{prefix} {source}:{port} {env.VirtualEndPoint}", await client.ReadLineAsync());
        await ConnectionAssert.EchoesAsync(client, "after the header");
    }

    [Fact]
    public async Task AcceptV2_SourcePassedOnInTheV1HeaderSent()
    {
        await using var env = await PolicyTestEnvironment.StartAsync(new ConnectionPolicy { AcceptProxyProtocol = true, SendProxyProtocol = ProxyProtocolVersion.V1 }, backend: HeaderBackend);
        await using var client = await TestClient.ConnectAsync(env.VirtualEndPoint);
        var header = new byte[ProxyHeaderWriter.MaxLength];
        var length = ProxyHeaderWriter.Write(header, ProxyProtocolVersion.V2, IPEndPoint.Parse("10.1.2.3:4242"), IPEndPoint.Parse("10.9.9.9:443"));
        await client.SendAsync(header.AsMemory(0, length));

        Assert.Equal("v1 10.1.2.3:4242 10.9.9.9:443", await client.ReadLineAsync());
        await ConnectionAssert.EchoesAsync(client);
    }

    [Fact]
    public async Task AcceptV1_DataInTheSameSegmentAsTheHeaderIsForwardedIntact()
    {
        await using var env = await PolicyTestEnvironment.StartAsync(new ConnectionPolicy { AcceptProxyProtocol = true, SendProxyProtocol = ProxyProtocolVersion.V2 }, backend: HeaderBackend);
        await using var client = await TestClient.ConnectAsync(env.VirtualEndPoint);
        await client.SendAsync(Encoding.ASCII.GetBytes("PROXY TCP6 2001:db8::7 2001:db8::1 51000 8443\r\nhello"));

        Assert.Equal("v2 [2001:db8::7]:51000 [2001:db8::1]:8443", await client.ReadLineAsync());
        Assert.Equal("hello", Encoding.ASCII.GetString(await client.ReadExactlyAsync(5)));
    }

    [Fact]
    public async Task AcceptLocal_TheConnectionsOwnAddressesAreUsed()
    {
        await using var env = await PolicyTestEnvironment.StartAsync(new ConnectionPolicy { AcceptProxyProtocol = true, SendProxyProtocol = ProxyProtocolVersion.V1 }, backend: HeaderBackend);
        var source = IPAddress.Parse(env.PodPrefix + "201");
        await using var client = await TestClient.ConnectAsync(env.VirtualEndPoint, source);
        var port = ((IPEndPoint)client.Socket.LocalEndPoint!).Port;
        byte[] local = [.. ProxyHeaderParserTests.Signature, 0x20, 0x00, 0x00, 0x00];
        await client.SendAsync(local);

        Assert.Equal($"v1 {source}:{port} {env.VirtualEndPoint}", await client.ReadLineAsync());
    }

    [Theory]
    [InlineData("GET / HTTP/1.1\r\n\r\n", "does not start with a PROXY protocol")]
    [InlineData("PROXY TCP4 1.2.3 5.6.7.8 1 2\r\n", "not a valid IPv4 address")]
    [InlineData("PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n", "without leading zeros")]
    public async Task Accept_MalformedHeader_ResetAndLoggedWithTheReason(string sent, string reason)
    {
        var logs = new ListLoggerProvider();
        using var loggerFactory = new LoggerFactory([logs]);
        await using var env = await PolicyTestEnvironment.StartAsync(
            new ConnectionPolicy { AcceptProxyProtocol = true },
            backend: HeaderBackend,
            configure: b => b.UseLoggerFactory(loggerFactory));
        await using var client = await TestClient.ConnectAsync(env.VirtualEndPoint);
        await client.SendAsync(Encoding.ASCII.GetBytes(sent));

        await ConnectionAssert.IsResetAsync(client);
        Assert.True(await TestIO.EventuallyAsync(() => logs.Messages.Any(m => m.Contains("bad PROXY protocol header", StringComparison.Ordinal) && m.Contains(reason, StringComparison.Ordinal))), string.Join("\n", logs.Messages));
        Assert.Equal(1, env.Counter("fastproxy.connections.refused", "reason=proxy_header"));
    }

    [Fact]
    public async Task Accept_NoHeaderWithinTheTimeout_Reset()
    {
        await using var env = await PolicyTestEnvironment.StartAsync(new ConnectionPolicy { AcceptProxyProtocol = true }, backend: HeaderBackend);
        await using var client = await TestClient.ConnectAsync(env.VirtualEndPoint);
        await client.SendAsync(Encoding.ASCII.GetBytes("PROXY TCP4 "));
        Assert.True(await TestIO.EventuallyAsync(() => env.Proxy.ActiveConnections == 1));

        env.Time.Advance(TimeSpan.FromSeconds(5));

        await ConnectionAssert.IsResetAsync(client);
    }

    [Fact]
    public async Task Accept_SourceRangesAreCheckedAgainstTheClientInTheHeader()
    {
        var lbAddress = TestAddresses.Next().VirtualIP;
        await using var env = await PolicyTestEnvironment.StartAsync(
            new ConnectionPolicy { AcceptProxyProtocol = true, SendProxyProtocol = ProxyProtocolVersion.V1 },
            backend: HeaderBackend,
            customize: s => s with { Type = ServiceType.LoadBalancer, LoadBalancerIngress = [lbAddress], LoadBalancerSourceRanges = [IPNetwork.Parse("10.1.0.0/16")] });
        var lb = new IPEndPoint(lbAddress, ProxyTestEnvironment.ServicePort);

        // The connection itself comes from loopback, outside the range: the header's client decides.
        await using (var inside = await TestClient.ConnectAsync(lb))
        {
            await inside.SendAsync(Encoding.ASCII.GetBytes("PROXY TCP4 10.1.2.3 10.0.0.1 4000 80\r\n"));
            Assert.Equal("v1 10.1.2.3:4000 10.0.0.1:80", await inside.ReadLineAsync());
        }

        await using var outside = await TestClient.ConnectAsync(lb);
        await outside.SendAsync(Encoding.ASCII.GetBytes("PROXY TCP4 10.2.2.3 10.0.0.1 4000 80\r\n"));
        await ConnectionAssert.IsResetAsync(outside);
        Assert.Equal(1, env.Counter("fastproxy.connections.refused", "reason=source_range"));
    }
}

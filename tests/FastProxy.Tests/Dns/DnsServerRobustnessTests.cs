using System.Buffers.Binary;
using System.Net.Sockets;
using CsCheck;
using Microsoft.Extensions.Time.Testing;

namespace FastProxy.Dns.Tests;

/// <summary>
/// The live server over loopback UDP and TCP against hostile and odd input: random and mutated
/// datagrams, garbage and stalled TCP streams, too many connections. It keeps answering valid queries
/// correctly afterwards; idle connections close on the (fake) clock; malformed queries get FORMERR.
/// </summary>
public sealed class DnsServerRobustnessTests
{
    private static readonly byte[] ValidQuery = DnsPackets.Query(0x4242, "web.default.svc.cluster.local", ednsPayload: 1232);

    [Fact]
    public async Task RandomAndMutatedDatagrams_DoNotStopTheServer_AndEveryResponseIsAWellFormedAnswer()
    {
        await using var dns = await DnsTestServer.StartAsync(ClusterDnsDigTests.Catalog());
        using var socket = new Socket(dns.EndPoint.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        socket.Connect(dns.EndPoint);

        var random = Gen.Byte.Array[0, 600];
        var mutated = Gen.Select(Gen.Int[0, ValidQuery.Length - 1].Array[1, 6], Gen.Byte.Array[6], Gen.Int[12, ValidQuery.Length], (positions, values, length) =>
        {
            var packet = ValidQuery.ToArray();
            for (var i = 0; i < positions.Length; i++)
            {
                packet[positions[i]] = values[i];
            }

            return packet[..length];
        });
        var sent = 0;
        await Gen.OneOf(random, mutated).SampleAsync(async packet =>
        {
            await socket.SendAsync(packet);
            sent++;
        }, iter: 3000, threads: 1);
        Assert.Equal(3000, sent);

        // Whatever came back is a response (QR set) of at least a header; a response is never a query,
        // so two servers can never ping-pong.
        var buffer = new byte[65535];
        var responses = 0;
        while (socket.Available > 0 && responses < 10_000)
        {
            var received = socket.Receive(buffer);
            Assert.True(received >= 12 && (buffer[2] & 0x80) != 0, $"a response of {received} bytes");
            responses++;
        }

        var answer = await DnsClient.UdpAsync(dns.EndPoint, ValidQuery);
        Assert.Equal((0x4242, true, false, 0, 1), DnsPackets.Header(answer));
    }

    [Fact]
    public async Task AMalformedQuery_GetsFormErr_AnUnknownOpcodeNotImp_AndAResponseIsIgnored()
    {
        await using var dns = await DnsTestServer.StartAsync(ClusterDnsDigTests.Catalog());

        var selfPointer = DnsPackets.WithHeader(77, 1, 0, [0xC0, 12, 0, 1, 0, 1]);
        Assert.Equal((77, true, false, 1, 0), DnsPackets.Header(await DnsClient.UdpAsync(dns.EndPoint, selfPointer)));

        var notify = DnsPackets.Query(78, "web.default.svc.cluster.local");
        notify[2] = (byte)(4 << 3);
        Assert.Equal((78, true, false, 4, 0), DnsPackets.Header(await DnsClient.UdpAsync(dns.EndPoint, notify)));

        var badVersion = DnsPackets.Query(79, "web.default.svc.cluster.local", ednsPayload: 1232);
        badVersion[^5] = 1;   // the OPT record's version byte
        var response = await DnsClient.UdpAsync(dns.EndPoint, badVersion);
        // BADVERS is 16: 0 in the header, 1 in the OPT record's extended rcode (the 7th byte from its end).
        Assert.Equal((79, true, false, 0, 0), DnsPackets.Header(response));
        Assert.Equal(1, response[^6]);
    }

    [Fact]
    public async Task GarbageAndStalledTcpStreams_AreClosed_AndTheServerStillAnswersOverTcp()
    {
        await using var dns = await DnsTestServer.StartAsync(ClusterDnsDigTests.Catalog(), o => o.TcpIdleTimeout = TimeSpan.FromMilliseconds(500));

        await Gen.Byte.Array[1, 300].SampleAsync(async garbage =>
        {
            using var socket = await DnsClient.ConnectTcpAsync(dns.EndPoint);
            await socket.SendAsync(garbage);
            socket.Shutdown(SocketShutdown.Send);
            // The server answers (a garbage length framing some bytes can be a query), closes, or waits
            // for the rest until its idle timeout; it never keeps the connection beyond that.
            for (var i = 0; i < 100 && await DnsClient.ReadTcpAsync(socket) is not null; i++)
            {
            }
        }, iter: 200, threads: 1);

        // A length of 65535 with only part of the message: closed by the idle timeout.
        using (var stalled = await DnsClient.ConnectTcpAsync(dns.EndPoint))
        {
            await stalled.SendAsync(new byte[] { 0xFF, 0xFF, 1, 2, 3 });
            Assert.True(await DnsClient.ClosedByServerAsync(stalled, TimeSpan.FromSeconds(10)));
        }

        using var client = await DnsClient.ConnectTcpAsync(dns.EndPoint);
        await client.SendAsync(DnsTcp.Frame(ValidQuery));
        Assert.Equal((0x4242, true, false, 0, 1), DnsPackets.Header(await DnsClient.ReadTcpAsync(client)));
    }

    [Fact]
    public async Task SeveralQueriesOnOneTcpConnection_AreAnsweredInOrder()
    {
        await using var dns = await DnsTestServer.StartAsync(ClusterDnsDigTests.Catalog());
        using var client = await DnsClient.ConnectTcpAsync(dns.EndPoint);

        // Three queries in one write (pipelined), then one more after the answers.
        var queries = new[] { (ushort)1, (ushort)2, (ushort)3 }.Select(id => DnsTcp.Frame(DnsPackets.Query(id, "db.data.svc.cluster.local"))).SelectMany(b => b).ToArray();
        await client.SendAsync(queries);
        for (ushort id = 1; id <= 3; id++)
        {
            var response = await DnsClient.ReadTcpAsync(client);
            Assert.Equal((id, true, false, 0, 3), DnsPackets.Header(response));
        }

        await client.SendAsync(DnsTcp.Frame(DnsPackets.Query(4, "nothere.default.svc.cluster.local")));
        Assert.Equal((4, true, false, 3, 0), DnsPackets.Header(await DnsClient.ReadTcpAsync(client)));
    }

    [Fact]
    public async Task AnIdleTcpConnection_IsClosedWhenTheIdleTimeoutPasses_OnTheServersClock()
    {
        var time = new FakeTimeProvider();
        await using var dns = await DnsTestServer.StartAsync(ClusterDnsDigTests.Catalog(), o =>
        {
            o.TimeProvider = time;
            o.TcpIdleTimeout = TimeSpan.FromSeconds(10);
        });
        using var client = await DnsClient.ConnectTcpAsync(dns.EndPoint);
        await client.SendAsync(DnsTcp.Frame(ValidQuery));
        Assert.NotNull(await DnsClient.ReadTcpAsync(client));

        // Just short of the timeout the connection stays; past it, it closes. The server arms its timer
        // when it starts waiting, so step the clock until it has (bounded).
        time.Advance(TimeSpan.FromSeconds(9));
        Assert.False(await DnsClient.ClosedByServerAsync(client, TimeSpan.FromMilliseconds(200)));
        var closed = false;
        for (var i = 0; i < 50 && !closed; i++)
        {
            time.Advance(TimeSpan.FromSeconds(1));
            closed = await DnsClient.ClosedByServerAsync(client, TimeSpan.FromMilliseconds(100));
        }

        Assert.True(closed);
    }

    [Fact]
    public async Task ConnectionsBeyondTheLimit_AreClosedAtOnce_AndTheOpenOnesKeepWorking()
    {
        // A fake clock that never moves: the open connections never idle out during the test.
        await using var dns = await DnsTestServer.StartAsync(ClusterDnsDigTests.Catalog(), o =>
        {
            o.TimeProvider = new FakeTimeProvider();
            o.MaxTcpConnections = 2;
        });
        using var first = await DnsClient.ConnectTcpAsync(dns.EndPoint);
        using var second = await DnsClient.ConnectTcpAsync(dns.EndPoint);
        for (var i = 0; i < 200 && dns.Server.TcpConnections < 2; i++)
        {
            await Task.Delay(10);
        }

        Assert.Equal(2, dns.Server.TcpConnections);
        using var third = await DnsClient.ConnectTcpAsync(dns.EndPoint);
        Assert.True(await DnsClient.ClosedByServerAsync(third, TimeSpan.FromSeconds(5)));

        await first.SendAsync(DnsTcp.Frame(ValidQuery));
        Assert.Equal(0x4242, DnsPackets.Header(await DnsClient.ReadTcpAsync(first)).Id);
    }

    [Fact]
    public void InvalidOptions_AreRejected_NamingTheSetting()
    {
        var catalog = new Catalog.ServiceCatalog();
        Assert.Contains("ClusterDomain", Assert.Throws<ArgumentException>(() => new ClusterDnsServer(catalog, new ClusterDnsOptions { ClusterDomain = "bad_name" })).Message, StringComparison.Ordinal);
        Assert.Contains("MaxUdpPayloadSize", Assert.Throws<ArgumentException>(() => new ClusterDnsServer(catalog, new ClusterDnsOptions { MaxUdpPayloadSize = 100 })).Message, StringComparison.Ordinal);
        Assert.Contains("Ttl", Assert.Throws<ArgumentException>(() => new ClusterDnsServer(catalog, new ClusterDnsOptions { Ttl = TimeSpan.FromDays(1) })).Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ANameLongerThanDnsAllows_IsServFail_NotACrash()
    {
        // Three 63-character labels, "svc" and a 63-character zone: over 255 bytes once written.
        var label = new string('a', 63);
        var catalog = new Catalog.ServiceCatalog();
        var selector = new Model.LabelSelector(new Dictionary<string, string> { ["app"] = "long" });
        var labels = new Dictionary<string, string> { ["app"] = "long" };
        catalog.SetService(new Model.Service { Name = label, Namespace = label, Headless = true, Selector = selector, Ports = [new Model.ServicePort { Name = "p", Port = 1 }] });
        catalog.SetPod(new Model.Pod { Name = "p", Namespace = label, Labels = labels, Address = System.Net.IPAddress.Parse("127.53.202.1"), Hostname = label, Subdomain = label });
        var zone = new string('z', 55) + ".example";
        await using var dns = await DnsTestServer.StartAsync(catalog, o => o.ClusterDomain = zone);

        // The question fits; the SRV target (<hostname>.<service>.<ns>.svc.<zone>) does not.
        var query = DnsPackets.Query(9, $"_p._tcp.{label}.{label}.svc.{zone}", type: 33);
        Assert.Equal((9, true, false, 2, 0), DnsPackets.Header(await DnsClient.UdpAsync(dns.EndPoint, query)));
        Assert.Equal(0x4242, DnsPackets.Header(await DnsClient.UdpAsync(dns.EndPoint, DnsPackets.Query(0x4242, "x.cluster.local"))).Id);
    }
}

using System.Net;
using FastProxy.Catalog;
using FastProxy.Model;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace FastProxy.Dns.Tests;

/// <summary><c>AddFastProxyDns</c>: the server runs with the host, over the host's catalog.</summary>
public sealed class AddFastProxyDnsTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task TheHostStartsTheDnsServer_OverItsCatalog_AndStopsIt()
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Services.AddFastProxy();
        builder.Services.AddFastProxyDns(o =>
        {
            o.EndPoint = new IPEndPoint(DnsTestServer.NextAddress(), 0);
            o.ClusterDomain = "hosted.test";
        });
        using var host = builder.Build();
        await host.StartAsync().WaitAsync(Bound);

        var catalog = host.Services.GetRequiredService<ServiceCatalog>();
        catalog.SetService(new Service { Name = "api", ClusterIP = IPAddress.Parse("127.100.53.40"), Ports = [new ServicePort { Port = 80 }] });
        var server = host.Services.GetRequiredService<ClusterDnsServer>().LocalEndPoint!;
        Assert.Equal(["127.100.53.40"], (await Dig.QueryAsync(server, "api.default.svc.hosted.test", "A")).AnswerData("A"));

        await host.StopAsync().WaitAsync(Bound);
        using var probe = new System.Net.Sockets.Socket(System.Net.Sockets.SocketType.Dgram, System.Net.Sockets.ProtocolType.Udp);
        probe.Bind(server);   // free again: the server let go of its address
    }
}

using System.Diagnostics.Metrics;
using System.Globalization;
using System.Net;
using System.Text;
using FastProxy.Catalog;
using FastProxy.Hosting;
using FastProxy.Model;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace FastProxy.Tests.Hosting;

/// <summary>
/// AddFastProxy in a real generic host: options and declarations bound from configuration, validation at
/// start, real loopback traffic, graceful stop. Hosts are built without defaults, so no appsettings.json
/// (the hosting sample's is copied next to the tests) leaks in.
/// </summary>
public sealed class AddFastProxyTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task DeclaredService_ServesTheDeclaredPods_ThroughItsVirtualIP()
    {
        var (pods, vip) = TestAddresses.Next();
        await using var web1 = TestBackend.Start("web-1", new IPEndPoint(IPAddress.Parse(pods + "1"), 0));
        await using var web2 = TestBackend.Start("web-2", new IPEndPoint(IPAddress.Parse(pods + "2"), web1.EndPoint.Port));
        var builder = NewBuilder(Declarations(vip, 7000, web1.EndPoint.Port, pods + "1", pods + "2"));
        builder.Services.AddFastProxy();

        var host = builder.Build();
        await using var disposal = (IAsyncDisposable)host;
        await host.StartAsync().WaitAsync(Bound);

        var catalog = host.Services.GetRequiredService<ServiceCatalog>();
        Assert.Equal(1, catalog.Current.Version); // services and pods applied as one update
        Assert.True(catalog.Current.TryGetService(new NamespacedName("default", "web"), out var web));
        Assert.Equal(vip, web.ClusterIP);

        var served = new List<string>();
        for (var i = 0; i < 4; i++)
        {
            served.Add(await TestClient.WhoServesAsync(new IPEndPoint(vip, 7000)));
        }

        Assert.Equal(["web-1", "web-2", "web-1", "web-2"], served); // round-robin, as declared
        await host.StopAsync().WaitAsync(Bound);
    }

    [Fact]
    public async Task InvalidOptionsAndDeclarations_FailTheStart_WithEveryError()
    {
        var builder = NewBuilder(new()
        {
            ["FastProxy:ConnectAttempts"] = "0",
            ["FastProxy:ServiceCidr"] = "not-a-range",
            ["FastProxy:Services:0:Name"] = "web",
            ["FastProxy:Services:0:Ports:0:Port"] = "70000",
            ["FastProxy:Services:0:Selector:app"] = "web",
            ["FastProxy:Services:1:Name"] = "web",
            ["FastProxy:Services:1:Ports:0:Port"] = "80",
            ["FastProxy:Pods:0:Name"] = "web-1",
            ["FastProxy:Pods:0:Address"] = "not-an-ip",
            ["FastProxy:Pods:1:Name"] = "web-2",
            ["FastProxy:Pods:1:Address"] = "127.0.0.1",
            ["FastProxy:Pods:1:Weight"] = "0",
        });
        builder.Services.AddFastProxy();
        var host = builder.Build();
        await using var disposal = (IAsyncDisposable)host;

        var error = await Assert.ThrowsAsync<CatalogValidationException>(() => host.StartAsync().WaitAsync(Bound));

        var found = error.Errors.Select(static e => $"{e.Subject} {e.Field}").ToList();
        Assert.Contains("FastProxy ConnectAttempts", found);
        Assert.Contains("FastProxy ServiceCidr", found);
        Assert.Contains("FastProxy:Services:1 Name", found); // declared twice
        Assert.Contains("FastProxy:Pods:0 Address", found);
        Assert.Contains(found, static f => f.StartsWith("service default/web spec.ports[0]", StringComparison.Ordinal));
        Assert.Contains(found, static f => f.StartsWith("pod default/web-2 ", StringComparison.Ordinal) && f.Contains("weight", StringComparison.Ordinal));
        Assert.Contains("must be 1-16, got 0", error.Message, StringComparison.Ordinal); // one error a line
    }

    [Fact]
    public async Task CodeWinsOverConfiguration_RegisteringTwiceRegistersOnce_HostFactoriesAreUsed()
    {
        var (_, vip) = TestAddresses.Next();
        var builder = NewBuilder(new()
        {
            ["FastProxy:ConnectAttempts"] = "2",
            ["FastProxy:ShutdownTimeout"] = "00:00:07",
            ["FastProxy:Services:0:Name"] = "web",
            ["FastProxy:Services:0:ClusterIP"] = vip.ToString(),
            ["FastProxy:Services:0:Ports:0:Port"] = "80",
        });
        using var meters = new RecordingMeterFactory();
        builder.Services.AddSingleton<IMeterFactory>(meters);
        builder.Services.AddFastProxy(o => o.ConnectAttempts = 5);
        builder.Services.AddFastProxy();
        await using var provider = builder.Services.BuildServiceProvider(); // ProxyServer is IAsyncDisposable only

        var options = provider.GetRequiredService<IOptions<FastProxyOptions>>().Value;
        Assert.Equal(5, options.ConnectAttempts);
        Assert.Equal(TimeSpan.FromSeconds(7), options.ShutdownTimeout);
        Assert.Single(options.Services); // the section was bound once
        Assert.Single(provider.GetServices<IHostedService>().OfType<FastProxyHostedService>());
        Assert.Same(provider.GetRequiredService<ServiceCatalog>(), provider.GetRequiredService<ProxyServer>().Catalog);
        Assert.Contains(ProxyServer.MeterName, meters.Created);
    }

    [Fact]
    public async Task ConfigurationOverload_BindsTheGivenSection_NotTheFastProxySection()
    {
        var builder = NewBuilder(new()
        {
            ["FastProxy:ConnectAttempts"] = "7",
            ["Edge:ConnectTimeout"] = "00:00:01",
            ["Edge:NodeAddresses:0"] = "127.0.0.5",
            ["Edge:Services:0:Name"] = "db",
            ["Edge:Services:0:Ports:0:Port"] = "5432",
            ["Edge:Services:0:Selector:app"] = "db",
            ["Edge:Pods:0:Name"] = "db-1",
            ["Edge:Pods:0:Address"] = "127.0.0.6",
            ["Edge:Pods:0:Labels:app"] = "db",
            ["Edge:Pods:0:Ports:postgres"] = "5433",
        });
        builder.Services.AddFastProxy(builder.Configuration.GetSection("Edge"));
        await using var provider = builder.Services.BuildServiceProvider(); // ProxyServer is IAsyncDisposable only

        var options = provider.GetRequiredService<IOptions<FastProxyOptions>>().Value;
        Assert.Equal(3, options.ConnectAttempts); // the default, not FastProxy:ConnectAttempts
        Assert.Equal(TimeSpan.FromSeconds(1), options.ConnectTimeout);
        Assert.Equal(["127.0.0.5"], options.NodeAddresses);
        Assert.Equal(5433, Assert.Single(options.Pods).Ports["postgres"]);
        var catalog = provider.GetRequiredService<ServiceCatalog>();
        Assert.True(catalog.Current.TryGetService(new NamespacedName("default", "db"), out var db));
        Assert.True(catalog.ServiceCidr.Contains(db.ClusterIP!)); // allocated
    }

    [Fact]
    public async Task StoppingTheHost_LetsAnOpenConnectionFinish_AndRefusesNewOnes()
    {
        var (pods, vip) = TestAddresses.Next();
        await using var backend = TestBackend.Start("web-1", new IPEndPoint(IPAddress.Parse(pods + "1"), 0));
        var builder = NewBuilder(Declarations(vip, 7000, backend.EndPoint.Port, pods + "1"));
        builder.Services.AddFastProxy();
        var host = builder.Build();
        await using var disposal = (IAsyncDisposable)host;
        await host.StartAsync().WaitAsync(Bound);

        var client = await TestClient.ConnectAsync(new IPEndPoint(vip, 7000));
        Assert.Equal("web-1", await client.ReadLineAsync());

        var stopping = host.StopAsync();
        await Task.Delay(300);
        Assert.False(stopping.IsCompleted); // waits for the open connection
        await Assert.ThrowsAnyAsync<System.Net.Sockets.SocketException>(() => TestClient.ConnectAsync(new IPEndPoint(vip, 7000)));

        await client.SendAsync(Encoding.ASCII.GetBytes("still here"));
        Assert.Equal("still here", Encoding.ASCII.GetString(await client.ReadExactlyAsync(10)));
        await client.DisposeAsync();

        await stopping.WaitAsync(Bound); // finishes once the connection closed, well before ShutdownTimeout
    }

    private static HostApplicationBuilder NewBuilder(Dictionary<string, string?> settings)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(settings);
        return builder;
    }

    private static Dictionary<string, string?> Declarations(IPAddress vip, int port, int targetPort, params string[] podAddresses)
    {
        var settings = new Dictionary<string, string?>
        {
            ["FastProxy:ShutdownTimeout"] = "00:00:30",
            ["FastProxy:Services:0:Name"] = "web",
            ["FastProxy:Services:0:ClusterIP"] = vip.ToString(),
            ["FastProxy:Services:0:Ports:0:Port"] = port.ToString(CultureInfo.InvariantCulture),
            ["FastProxy:Services:0:Ports:0:TargetPort"] = targetPort.ToString(CultureInfo.InvariantCulture),
            ["FastProxy:Services:0:Selector:app"] = "web",
            ["FastProxy:Services:0:Balancer"] = "round-robin",
        };
        for (var i = 0; i < podAddresses.Length; i++)
        {
            settings[$"FastProxy:Pods:{i}:Name"] = $"web-{i + 1}";
            settings[$"FastProxy:Pods:{i}:Address"] = podAddresses[i];
            settings[$"FastProxy:Pods:{i}:Labels:app"] = "web";
        }

        return settings;
    }

    private sealed class RecordingMeterFactory : IMeterFactory
    {
        private readonly List<Meter> _meters = [];

        public List<string> Created { get; } = [];

        public Meter Create(MeterOptions options)
        {
            Created.Add(options.Name);
            var meter = new Meter(options);
            _meters.Add(meter);
            return meter;
        }

        public void Dispose() => _meters.ForEach(static m => m.Dispose());
    }
}

using System.Diagnostics;
using System.Net;
using FastProxy.Catalog;
using FastProxy.Model;

namespace FastProxy.Discovery.Tests;

/// <summary>
/// Golden tests: the variables must equal what the kubelet produces (cases from its envvars_test.go and the
/// examples of the Kubernetes documentation).
/// </summary>
public sealed class ServiceEnvironmentTests
{
    // Nothing binds in these tests: the catalog only computes; the addresses are the kubelet test's own.
    private static Service Service(string name, string clusterIP, params ServicePort[] ports) => new()
    {
        Name = name,
        ClusterIP = IPAddress.Parse(clusterIP),
        Selector = new LabelSelector(new Dictionary<string, string> { ["bar"] = "baz" }),
        Ports = [.. ports],
    };

    [Fact]
    public void For_MatchesTheKubeletsVariables()
    {
        var catalog = new ServiceCatalog();
        catalog.Apply(new CatalogUpdate()
            .SetService(Service("foo-bar", "1.2.3.4", new ServicePort { Port = 8080 }))
            .SetService(Service(
                "abc-123",
                "5.6.7.8",
                new ServicePort { Name = "u-d-p", Port = 8081, Protocol = ServiceProtocol.Udp },
                new ServicePort { Name = "t-c-p", Port = 8081 }))
            .SetService(new Service { Name = "headless", Headless = true, Ports = [new ServicePort { Port = 80 }] })
            .SetService(new Service { Name = "alias", Type = ServiceType.ExternalName, ExternalName = "example.org" })
            .SetService(Service("elsewhere", "1.2.3.5", new ServicePort { Port = 80 }) with { Namespace = "other" }));

        var expected = new Dictionary<string, string>
        {
            ["FOO_BAR_SERVICE_HOST"] = "1.2.3.4",
            ["FOO_BAR_SERVICE_PORT"] = "8080",
            ["FOO_BAR_PORT"] = "tcp://1.2.3.4:8080",
            ["FOO_BAR_PORT_8080_TCP"] = "tcp://1.2.3.4:8080",
            ["FOO_BAR_PORT_8080_TCP_PROTO"] = "tcp",
            ["FOO_BAR_PORT_8080_TCP_PORT"] = "8080",
            ["FOO_BAR_PORT_8080_TCP_ADDR"] = "1.2.3.4",
            ["ABC_123_SERVICE_HOST"] = "5.6.7.8",
            ["ABC_123_SERVICE_PORT"] = "8081",
            ["ABC_123_SERVICE_PORT_U_D_P"] = "8081",
            ["ABC_123_SERVICE_PORT_T_C_P"] = "8081",
            ["ABC_123_PORT"] = "udp://5.6.7.8:8081",
            ["ABC_123_PORT_8081_UDP"] = "udp://5.6.7.8:8081",
            ["ABC_123_PORT_8081_UDP_PROTO"] = "udp",
            ["ABC_123_PORT_8081_UDP_PORT"] = "8081",
            ["ABC_123_PORT_8081_UDP_ADDR"] = "5.6.7.8",
            ["ABC_123_PORT_8081_TCP"] = "tcp://5.6.7.8:8081",
            ["ABC_123_PORT_8081_TCP_PROTO"] = "tcp",
            ["ABC_123_PORT_8081_TCP_PORT"] = "8081",
            ["ABC_123_PORT_8081_TCP_ADDR"] = "5.6.7.8",
        };

        var variables = ServiceEnvironment.For(catalog.Current, "default");

        Assert.Equal(expected.OrderBy(p => p.Key, StringComparer.Ordinal), variables);
    }

    [Fact]
    public void For_TheServiceConceptPagesExample()
    {
        // kubernetes.io/docs/concepts/services-networking/service/#environment-variables: "the Service
        // redis-primary which exposes TCP port 6379 and has been allocated cluster IP address 10.0.0.11".
        var catalog = new ServiceCatalog();
        catalog.SetService(Service("redis-primary", "10.0.0.11", new ServicePort { Port = 6379, Protocol = ServiceProtocol.Tcp }));

        var variables = ServiceEnvironment.For(catalog.Current, "default").Select(p => $"{p.Key}={p.Value}");

        Assert.Equal(
            new[]
            {
                "REDIS_PRIMARY_SERVICE_HOST=10.0.0.11",
                "REDIS_PRIMARY_SERVICE_PORT=6379",
                "REDIS_PRIMARY_PORT=tcp://10.0.0.11:6379",
                "REDIS_PRIMARY_PORT_6379_TCP=tcp://10.0.0.11:6379",
                "REDIS_PRIMARY_PORT_6379_TCP_PROTO=tcp",
                "REDIS_PRIMARY_PORT_6379_TCP_PORT=6379",
                "REDIS_PRIMARY_PORT_6379_TCP_ADDR=10.0.0.11",
            }.Order(StringComparer.Ordinal),
            variables);
    }

    [Fact]
    public void For_TheConnectingApplicationsTutorialsExample()
    {
        // kubernetes.io/docs/tutorials/services/connect-applications-service/#environment-variables: a pod of
        // default sees `printenv | grep SERVICE` give these for services my-nginx and kubernetes.
        var catalog = new ServiceCatalog();
        catalog.Apply(new CatalogUpdate()
            .SetService(Service("kubernetes", "10.0.0.1", new ServicePort { Name = "https", Port = 443 }))
            .SetService(Service("my-nginx", "10.0.162.149", new ServicePort { Port = 80, Protocol = ServiceProtocol.Tcp })));

        var serviceVariables = ServiceEnvironment.For(catalog.Current, "default")
            .Where(p => p.Key.Contains("SERVICE", StringComparison.Ordinal))
            .Select(p => $"{p.Key}={p.Value}");

        Assert.Equal(
            new[]
            {
                "KUBERNETES_SERVICE_HOST=10.0.0.1",
                "MY_NGINX_SERVICE_HOST=10.0.162.149",
                "KUBERNETES_SERVICE_PORT=443",
                "MY_NGINX_SERVICE_PORT=80",
                "KUBERNETES_SERVICE_PORT_HTTPS=443",
            }.Order(StringComparer.Ordinal),
            serviceVariables);
    }

    [Fact]
    public void For_AServiceNamedKubernetesInThePodsNamespace_WinsOverTheMasterService()
    {
        // The kubelet keys services by name; its own namespace's entry replaces the master service's.
        var catalog = new ServiceCatalog();
        catalog.Apply(new CatalogUpdate()
            .SetService(Service("kubernetes", "10.0.0.1", new ServicePort { Name = "https", Port = 443 }))
            .SetService(Service("kubernetes", "10.0.0.9", new ServicePort { Port = 8443 }) with { Namespace = "team" }));

        var variables = ServiceEnvironment.For(catalog.Current, "team").ToDictionary();

        Assert.Equal("10.0.0.9", variables["KUBERNETES_SERVICE_HOST"]);
        Assert.Equal("8443", variables["KUBERNETES_SERVICE_PORT"]);
        Assert.DoesNotContain("KUBERNETES_SERVICE_PORT_HTTPS", variables.Keys);
    }

    [Fact]
    public async Task ApplyTo_AChildProcessSeesTheVariables_NextToTheInheritedOnes()
    {
        var catalog = new ServiceCatalog();
        catalog.SetService(Service("web", "10.0.0.2", new ServicePort { Port = 80 }));
        var start = new ProcessStartInfo("sh", ["-c", "echo \"$WEB_SERVICE_HOST $WEB_PORT_80_TCP_ADDR ${PATH:+path-kept}\""]) { RedirectStandardOutput = true };

        ServiceEnvironment.ApplyTo(start, catalog.Current, "default");

        using var child = Process.Start(start)!;
        var output = await child.StandardOutput.ReadToEndAsync().WaitAsync(TimeSpan.FromSeconds(30));
        await child.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal("10.0.0.2 10.0.0.2 path-kept", output.Trim());
    }

    [Fact]
    public void For_OtherNamespace_GetsItsOwnServicesAndTheMasterService()
    {
        var catalog = new ServiceCatalog();
        catalog.Apply(new CatalogUpdate()
            .SetService(Service("kubernetes", "10.0.0.1", new ServicePort { Name = "https", Port = 443 }))
            .SetService(Service("web", "10.0.0.2", new ServicePort { Port = 80 }))
            .SetService(Service("api", "10.0.0.3", new ServicePort { Port = 8080 }) with { Namespace = "team" }));

        var names = ServiceEnvironment.For(catalog.Current, "team").Select(p => p.Key).ToList();

        Assert.Contains("API_SERVICE_HOST", names);
        Assert.Contains("KUBERNETES_SERVICE_HOST", names);
        Assert.DoesNotContain("WEB_SERVICE_HOST", names);
        Assert.Equal("10.0.0.3", ServiceEnvironment.For(catalog.Current, "team").Single(p => p.Key == "API_SERVICE_HOST").Value);
    }

    [Fact]
    public void For_IPv6ClusterIP_BracketsTheHostInUrls()
    {
        var catalog = new ServiceCatalog();
        catalog.SetService(Service("v6", "fd00::10", new ServicePort { Port = 80 }));

        var variables = ServiceEnvironment.For(catalog.Current, "default").ToDictionary();

        Assert.Equal("fd00::10", variables["V6_SERVICE_HOST"]);
        Assert.Equal("tcp://[fd00::10]:80", variables["V6_PORT"]);
    }
}

using System.Net;
using FastProxy.Catalog;
using FastProxy.Model;

namespace FastProxy.Health.Tests;

/// <summary>Health settings and health-check node ports: what the catalog accepts, allocates and refuses.</summary>
public sealed class HealthValidationTests
{
    private static Service LocalLoadBalancer(string name = "lb", int healthCheckNodePort = 0) => new()
    {
        Name = name,
        Type = ServiceType.LoadBalancer,
        ExternalTrafficPolicy = TrafficPolicy.Local,
        Selector = new LabelSelector(new Dictionary<string, string> { ["app"] = name }),
        Ports = [new ServicePort { Port = 80 }],
        HealthCheckNodePort = healthCheckNodePort,
    };

    private static string[] Errors(Service service, ServiceCatalog? catalog = null)
        => [.. Assert.Throws<CatalogValidationException>(() => (catalog ?? new ServiceCatalog()).SetService(service)).Errors.Select(e => e.ToString())];

    [Fact]
    public void BadHealthSettings_AreRejected_WithFieldAndReason()
    {
        var service = LocalLoadBalancer() with
        {
            HealthCheck = new HealthCheckPolicy
            {
                Protocol = HealthCheckProtocol.Http,
                Path = "health",
                Port = 70000,
                Interval = TimeSpan.FromMilliseconds(50),
                Timeout = TimeSpan.FromSeconds(1),
                HealthyThreshold = 0,
                UnhealthyThreshold = 101,
                JitterPercent = -1,
                ExpectedStatusMin = 400,
                ExpectedStatusMax = 200,
            },
            OutlierDetection = new OutlierDetectionPolicy { ConsecutiveFailures = 0, BaseEjectionTime = TimeSpan.FromSeconds(30), MaxEjectionTime = TimeSpan.FromSeconds(10) },
            PanicThreshold = 101,
        };

        Assert.Equal(
            [
                "service default/lb: metadata.annotations[fastproxy.io/health-check-path]: must start with '/', hold no spaces, control characters or '#', and be at most 1024 characters, got \"health\"",
                "service default/lb: metadata.annotations[fastproxy.io/health-check-port]: must be 1-65535, got 70000",
                "service default/lb: metadata.annotations[fastproxy.io/health-check-interval]: must be at least 0.1s and at most 1 day(s), got 0.05s",
                "service default/lb: metadata.annotations[fastproxy.io/health-check-timeout]: must be more than 0 and at most the interval (0.05s), got 1s",
                "service default/lb: metadata.annotations[fastproxy.io/health-check-healthy-threshold]: must be 1-100, got 0",
                "service default/lb: metadata.annotations[fastproxy.io/health-check-unhealthy-threshold]: must be 1-100, got 101",
                "service default/lb: metadata.annotations[fastproxy.io/health-check-jitter-percent]: must be 0-100, got -1",
                "service default/lb: metadata.annotations[fastproxy.io/health-check-expected-statuses]: must be a status range within 100-599 with the lower first, got 400-200",
                "service default/lb: metadata.annotations[fastproxy.io/outlier-consecutive-failures]: must be 1-1000, got 0",
                "service default/lb: metadata.annotations[fastproxy.io/outlier-max-ejection-time]: must be at least the base ejection time (30s) and at most 1 day(s), got 10s",
                "service default/lb: metadata.annotations[fastproxy.io/panic-threshold]: must be 0-100, got 101",
            ],
            Errors(service));
    }

    [Fact]
    public void HealthCheckNodePort_OnAServiceThatNeedsNone_IsRejected()
    {
        var clusterIP = LocalLoadBalancer(healthCheckNodePort: 30500) with { Type = ServiceType.ClusterIP, ExternalTrafficPolicy = TrafficPolicy.Cluster };
        Assert.Equal(["service default/lb: spec.healthCheckNodePort: may only be set when `type` is 'LoadBalancer' and `externalTrafficPolicy` is 'Local'"], Errors(clusterIP));
    }

    [Fact]
    public void HealthCheckNodePort_IsAllocatedInTheRange_AndKeptAcrossEdits()
    {
        var catalog = new ServiceCatalog();
        var port = catalog.SetService(LocalLoadBalancer()).Services[new NamespacedName("default", "lb")].HealthCheckNodePort;
        Assert.InRange(port, 30000, 32767);
        var nodePort = catalog.Current.Services[new NamespacedName("default", "lb")].Ports[0].Port.NodePort;
        Assert.NotEqual(nodePort, port);

        var edited = catalog.SetService(LocalLoadBalancer() with { Ports = [new ServicePort { Name = "a", Port = 80 }, new ServicePort { Name = "b", Port = 81 }] });
        Assert.Equal(port, edited.Services[new NamespacedName("default", "lb")].HealthCheckNodePort);

        // Cluster policy: no health-check node port.
        var cluster = catalog.SetService(LocalLoadBalancer() with { ExternalTrafficPolicy = TrafficPolicy.Cluster });
        Assert.Equal(0, cluster.Services[new NamespacedName("default", "lb")].HealthCheckNodePort);
    }

    [Fact]
    public void HealthCheckNodePort_TakenByAnotherServicesNodePort_IsReported()
    {
        var catalog = new ServiceCatalog();
        catalog.SetService(new Service { Name = "np", Type = ServiceType.NodePort, Ports = [new ServicePort { Port = 80, NodePort = 30777 }] });
        Assert.Equal(["service default/lb: spec.healthCheckNodePort: 30777/TCP is already allocated to service default/np"], Errors(LocalLoadBalancer(healthCheckNodePort: 30777), catalog));

        // And its own node port.
        var own = LocalLoadBalancer(healthCheckNodePort: 30778) with { Ports = [new ServicePort { Port = 80, NodePort = 30778 }] };
        Assert.Equal(["service default/lb: spec.healthCheckNodePort: 30778 is already used by one of this service's node ports"], Errors(own, catalog));

        // A given number is used as given.
        Assert.Equal(30779, catalog.SetService(LocalLoadBalancer(healthCheckNodePort: 30779)).Services[new NamespacedName("default", "lb")].HealthCheckNodePort);
        Assert.Equal(IPAddress.Loopback, catalog.NodeAddresses[0]);
    }
}

using System.Net;
using FastProxy.Balancing;
using FastProxy.Catalog;
using FastProxy.Model;

namespace FastProxy.Manifests.Tests;

/// <summary>samples/manifests loads cleanly, and the catalog accepts and serves it.</summary>
public sealed class SampleManifestsTests
{
    private static string SampleFolder()
    {
        // Walk up from the test binaries to the repository, so the test reads the real sample files.
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "FastProxy.sln")))
            {
                return Path.Combine(dir.FullName, "samples", "manifests");
            }
        }

        throw new InvalidOperationException("The repository root (FastProxy.sln) was not found above " + AppContext.BaseDirectory);
    }

    [Fact]
    public void Samples_LoadWithNoErrorOrWarning_AndTheCatalogAcceptsThem()
    {
        var set = ManifestReader.Load([SampleFolder()]);

        Assert.Empty(set.Diagnostics);
        Assert.Empty(set.ValidateWithCatalog());
        Assert.Equal(["default/api", "default/cache", "data/db", "default/web"], set.Services.Select(s => s.Id.ToString()));
        Assert.Equal(["default/api-1", "default/web-1", "default/web-2"], set.Pods.Select(p => p.Id.ToString()));
        Assert.Single(set.Endpoints);
        Assert.Single(set.EndpointSlices);

        var catalog = new ServiceCatalog();
        catalog.Apply(set.ToCatalogUpdate());
        var services = catalog.Current.Services;

        var web = services[new NamespacedName("default", "web")];
        Assert.Equal(IPAddress.Parse("127.96.0.10"), web.ClusterIP);
        Assert.Equal(BalancingStrategies.WeightedRoundRobin, web.Service.Balancer);
        Assert.Equal(
            ["127.0.1.1:8080 weight 3", "127.0.1.2:8081 weight 1"],
            web.Ports[0].Endpoints.Select(e => $"{e.EndPoint} weight {e.Weight}").Order(StringComparer.Ordinal));

        var api = services[new NamespacedName("default", "api")];
        Assert.True(catalog.ServiceCidr.Contains(api.ClusterIP!));
        Assert.Equal(30080, api.Ports[0].Port.NodePort);
        Assert.Equal(["127.0.1.3:9090"], api.Ports[0].Endpoints.Select(e => e.EndPoint.ToString()));

        var db = services[new NamespacedName("data", "db")];
        Assert.Equal(["127.0.1.10:5432"], db.Ports[0].Endpoints.Select(e => e.EndPoint.ToString()));

        var cache = services[new NamespacedName("default", "cache")];
        Assert.Equal(["127.0.1.20:6379", "127.0.1.21:6379"], cache.Ports[0].Endpoints.Select(e => e.EndPoint.ToString()).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void EveryAddress_IsOnLoopback()
    {
        var set = ManifestReader.Load([SampleFolder()]);
        var addresses = set.Services.Select(s => s.ClusterIP).OfType<IPAddress>()
            .Concat(set.Pods.Select(p => p.Address))
            .Concat(set.Endpoints.SelectMany(e => e.Subsets).SelectMany(s => s.Addresses.Concat(s.NotReadyAddresses)).Select(a => a.IP))
            .Concat(set.EndpointSlices.SelectMany(s => s.Endpoints).SelectMany(e => e.Addresses));
        Assert.All(addresses, a => Assert.True(IPAddress.IsLoopback(a), $"{a} is not a loopback address"));
        Assert.All(set.Services.Select(s => s.ClusterIP).OfType<IPAddress>(), a => Assert.True(IPNetwork.Parse("127.96.0.0/12").Contains(a)));
    }
}

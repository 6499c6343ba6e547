using System.Net;
using FastProxy.Catalog;
using FastProxy.Kubernetes;
using FastProxy.Model;
using static FastProxy.Tests.Kubernetes.KubernetesTestEnvironment;

namespace FastProxy.Tests.Kubernetes;

/// <summary>Recorded list responses → catalog, through the real client and the manifest mapping.</summary>
public sealed class KubernetesMappingTests
{
    [Fact]
    public async Task EndpointSlicesMode_MapsServiceTypesAnnotationsAndSliceConditions()
    {
        await using var env = Create();
        await env.StartAsync();

        var web = env.Service("web");
        Assert.Equal(IPAddress.Parse("127.96.10.10"), web.ClusterIP);
        Assert.Equal("least-connections", web.Service.Balancer);
        var http = Assert.Single(web.Ports);
        Assert.Equal(80, http.Port.Port);
        Assert.Equal("http", http.Port.TargetPortName);
        var all = http.AllEndpoints.ToDictionary(e => e.EndPoint.ToString(), e => e.Conditions);
        Assert.Equal(new EndpointConditions(Ready: true, Serving: true, Terminating: false), all["127.120.1.1:8080"]);
        Assert.Equal(new EndpointConditions(Ready: false, Serving: false, Terminating: false), all["127.120.1.2:8080"]);
        Assert.Equal(new EndpointConditions(Ready: false, Serving: true, Terminating: true), all["127.120.1.3:8080"]);
        Assert.Equal(3, all.Count);
        Assert.Equal("127.120.1.1:8080", Assert.Single(http.Internal.Endpoints).EndPoint.ToString());
        Assert.Equal("zone-1", http.Internal.Endpoints[0].Zone);

        var metrics = env.Service("metrics");
        Assert.Equal(ServiceType.NodePort, metrics.Service.Type);
        Assert.Equal(30910, metrics.Ports[0].Port.NodePort);
        Assert.Equal(SessionAffinity.ClientIP, metrics.Service.SessionAffinity);
        Assert.Equal(TimeSpan.FromSeconds(600), metrics.Service.SessionAffinityTimeout);

        Assert.True(env.Service("db").Service.Headless);
        Assert.Null(env.Service("db").ClusterIP);
        Assert.Equal(ServiceType.ExternalName, env.Service("payments").Service.Type);
        Assert.Equal("payments.example.com", env.Service("payments").Service.ExternalName);

        // A service without a selector takes its endpoints from a slice someone else wrote.
        Assert.Equal("127.120.2.1:7000", Assert.Single(env.Service("legacy").Ports[0].Internal.Endpoints).EndPoint.ToString());

        // Pods are not watched in this mode, as kube-proxy: the slices already say it all.
        Assert.Empty(env.Server.RequestsTo(PodsPath));
        var list = env.Server.RequestsTo(ServicesPath).First(r => !r.IsWatch);
        Assert.Equal("500", list.Parameter("limit"));
        Assert.Equal("Bearer fixture-token", list.Authorization);
        Assert.True(env.Source.Status.Synced);
        Assert.Equal("1000", env.Source.Status.ResourceVersions["services"]);
    }

    [Fact]
    public async Task PodsMode_SelectorControllerComputesEndpointsFromPods_ControllerSlicesLeftOut()
    {
        await using var env = Create(o => o.Mode = KubernetesEndpointsMode.Pods);
        await env.StartAsync();

        var http = env.Service("web").Ports[0];
        var all = http.AllEndpoints.ToDictionary(e => e.EndPoint.ToString());

        // Named targetPort "http" resolved through each pod's container ports; the pending pod (no IP) is no endpoint.
        Assert.Equal(["127.120.1.1:8080", "127.120.1.2:8080", "127.120.1.3:8080"], all.Keys.Order());
        Assert.Equal(new EndpointConditions(true, true, false), all["127.120.1.1:8080"].Conditions);
        Assert.Equal(new NamespacedName("shop", "web-5d9c7f8b6-2xk4p"), all["127.120.1.1:8080"].Pod);
        Assert.Equal(3, all["127.120.1.1:8080"].Weight);
        Assert.Equal(new EndpointConditions(false, false, false), all["127.120.1.2:8080"].Conditions);
        Assert.Equal(new EndpointConditions(false, true, true), all["127.120.1.3:8080"].Conditions);
        Assert.Equal("node-a", all["127.120.1.3:8080"].NodeName);

        // Slices from anyone but the EndpointSlice controller still count (services without a selector).
        Assert.Equal("127.120.2.1:7000", Assert.Single(env.Service("legacy").Ports[0].Internal.Endpoints).EndPoint.ToString());
        var sliceList = env.Server.RequestsTo(SlicesPath).First(r => !r.IsWatch);
        Assert.Equal("endpointslice.kubernetes.io/managed-by!=endpointslice-controller.k8s.io", sliceList.Parameter("labelSelector"));
        Assert.NotEmpty(env.Server.RequestsTo(PodsPath));
    }

    [Fact]
    public async Task NamespaceAndLabelSelector_AreSentToTheApiServer()
    {
        await using var env = Create(o =>
        {
            o.Namespaces.Add("shop");
            o.ServiceLabelSelector = "app=web";
        });
        env.Server.SetList("/api/v1/namespaces/shop/services", FilterList(Fixture("services.json"), i => NameOf(i) == "web", "1000"));
        env.Server.SetList("/apis/discovery.k8s.io/v1/namespaces/shop/endpointslices", Fixture("endpointslices.json"));
        await env.StartAsync();

        Assert.True(env.HasService("web"));
        Assert.False(env.HasService("metrics"));
        var list = env.Server.RequestsTo("/api/v1/namespaces/shop/services").First();
        Assert.Equal("app=web", list.Parameter("labelSelector"));
        Assert.Empty(env.Server.RequestsTo(ServicesPath));
        Assert.Contains("services/shop", env.Source.Status.ResourceVersions.Keys);
    }
}

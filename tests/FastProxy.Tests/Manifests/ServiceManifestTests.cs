using System.Net;
using FastProxy.Balancing;
using FastProxy.Model;

namespace FastProxy.Manifests.Tests;

/// <summary>Every Service field FastProxy reads, with Kubernetes' defaults when it is absent.</summary>
public sealed class ServiceManifestTests
{
    [Fact]
    public void MinimalService_TakesKubernetesDefaults()
    {
        var set = Manifests.Yaml("""
            apiVersion: v1
            kind: Service
            metadata:
              name: web
            spec:
              ports:
                - port: 80
            """);

        Assert.Empty(set.Diagnostics);
        var service = Assert.Single(set.Services);
        Assert.Equal(new NamespacedName("default", "web"), service.Id);
        Assert.Equal(ServiceType.ClusterIP, service.Type);
        Assert.Null(service.ClusterIP);
        Assert.False(service.Headless);
        Assert.Null(service.Selector);
        Assert.Equal(BalancingStrategies.RoundRobin, service.Balancer);
        Assert.Equal(SessionAffinity.None, service.SessionAffinity);
        Assert.Equal(TimeSpan.FromSeconds(10800), service.SessionAffinityTimeout);
        Assert.False(service.PublishNotReadyAddresses);
        Assert.Empty(service.ExternalIPs.ToArray());
        Assert.Null(service.LoadBalancerIP);
        Assert.Empty(service.LoadBalancerSourceRanges.ToArray());
        Assert.Empty(service.LoadBalancerIngress.ToArray());
        Assert.Equal(TrafficPolicy.Cluster, service.InternalTrafficPolicy);
        Assert.Equal(TrafficPolicy.Cluster, service.ExternalTrafficPolicy);
        Assert.Equal(TrafficDistribution.Default, service.TrafficDistribution);
        var port = Assert.Single(service.Ports.ToArray());
        Assert.Equal(new ServicePort { Port = 80 }, port);
        Assert.Equal(80, port.EffectiveTargetPort);
    }

    [Fact]
    public void EveryField_IsMapped()
    {
        var set = Manifests.Yaml("""
            apiVersion: v1
            kind: Service
            metadata:
              name: edge
              namespace: shop
              labels: {team: a}
              annotations:
                fastproxy.io/balancer: maglev
                example.com/other: anything
            spec:
              type: LoadBalancer
              clusterIP: 127.96.0.5
              clusterIPs: [127.96.0.5]
              selector:
                app: edge
                tier: front
              ports:
                - name: http
                  protocol: TCP
                  port: 80
                  targetPort: 8080
                  nodePort: 30080
                  appProtocol: http
                - name: dns
                  protocol: UDP
                  port: 53
                  targetPort: dns
              sessionAffinity: ClientIP
              sessionAffinityConfig:
                clientIP:
                  timeoutSeconds: 60
              externalIPs: [127.0.2.1, "::1"]
              loadBalancerIP: 127.0.3.1
              loadBalancerSourceRanges: ["10.0.0.0/8", " 192.168.1.7/24 ", "fd00::/8"]
              publishNotReadyAddresses: true
              internalTrafficPolicy: Local
              externalTrafficPolicy: Local
              trafficDistribution: PreferSameNode
              ipFamilyPolicy: SingleStack
            status:
              loadBalancer:
                ingress:
                  - ip: 127.0.4.1
                    ipMode: VIP
            """);

        Assert.Empty(set.Diagnostics);
        var service = Assert.Single(set.Services);
        Assert.Equal(new NamespacedName("shop", "edge"), service.Id);
        Assert.Equal(ServiceType.LoadBalancer, service.Type);
        Assert.Equal(IPAddress.Parse("127.96.0.5"), service.ClusterIP);
        Assert.Equal("maglev", service.Balancer);
        Assert.Equal("app=edge,tier=front", service.Selector!.ToString());
        Assert.Equal(
            [
                new ServicePort { Name = "http", Protocol = ServiceProtocol.Tcp, Port = 80, TargetPort = 8080, NodePort = 30080 },
                new ServicePort { Name = "dns", Protocol = ServiceProtocol.Udp, Port = 53, TargetPortName = "dns" },
            ],
            service.Ports.ToArray());
        Assert.Equal(SessionAffinity.ClientIP, service.SessionAffinity);
        Assert.Equal(TimeSpan.FromSeconds(60), service.SessionAffinityTimeout);
        Assert.Equal([IPAddress.Parse("127.0.2.1"), IPAddress.IPv6Loopback], service.ExternalIPs.ToArray());
        Assert.Equal(IPAddress.Parse("127.0.3.1"), service.LoadBalancerIP);
        // Host bits are allowed and cleared, as Kubernetes does; spaces are trimmed.
        Assert.Equal([IPNetwork.Parse("10.0.0.0/8"), IPNetwork.Parse("192.168.1.0/24"), IPNetwork.Parse("fd00::/8")], service.LoadBalancerSourceRanges.ToArray());
        Assert.Equal([IPAddress.Parse("127.0.4.1")], service.LoadBalancerIngress.ToArray());
        Assert.True(service.PublishNotReadyAddresses);
        Assert.Equal(TrafficPolicy.Local, service.InternalTrafficPolicy);
        Assert.Equal(TrafficPolicy.Local, service.ExternalTrafficPolicy);
        Assert.Equal(TrafficDistribution.PreferSameNode, service.TrafficDistribution);
    }

    [Theory]
    [InlineData("ClusterIP", ServiceType.ClusterIP)]
    [InlineData("NodePort", ServiceType.NodePort)]
    [InlineData("LoadBalancer", ServiceType.LoadBalancer)]
    public void Type_IsRead(string type, ServiceType expected)
        => Assert.Equal(expected, Assert.Single(Manifests.Yaml(Manifests.Service($"type: {type}\nports: [{{port: 80}}]")).Services).Type);

    [Fact]
    public void ExternalName_NeedsNoPorts()
    {
        var set = Manifests.Yaml(Manifests.Service("type: ExternalName\nexternalName: db.example.com"));
        Assert.Empty(set.Diagnostics);
        var service = Assert.Single(set.Services);
        Assert.Equal(ServiceType.ExternalName, service.Type);
        Assert.Equal("db.example.com", service.ExternalName);
        Assert.Empty(set.ValidateWithCatalog());
    }

    [Fact]
    public void ClusterIPNone_IsHeadless()
    {
        var service = Assert.Single(Manifests.Yaml(Manifests.Service("clusterIP: None\nselector: {app: db}")).Services);
        Assert.True(service.Headless);
        Assert.Null(service.ClusterIP);
    }

    [Theory]
    [InlineData("clusterIP: \"\"")]
    [InlineData("clusterIP:")]
    [InlineData("clusterIPs: []")]
    public void EmptyClusterIP_IsAllocated(string line)
    {
        var service = Assert.Single(Manifests.Yaml(Manifests.Service($"{line}\nports: [{{port: 80}}]")).Services);
        Assert.Null(service.ClusterIP);
        Assert.False(service.Headless);
    }

    [Fact]
    public void ClusterIPs_FirstIsTheAddress()
    {
        Assert.Equal(IPAddress.Parse("127.96.0.9"), Assert.Single(Manifests.Yaml(Manifests.Service("clusterIPs: [127.96.0.9, \"fd00::9\"]\nports: [{port: 80}]")).Services).ClusterIP);
        Assert.True(Assert.Single(Manifests.Yaml(Manifests.Service("clusterIPs: [None]")).Services).Headless);
    }

    [Fact]
    public void ClusterIPs_MustAgreeWithClusterIP()
    {
        var set = Manifests.Yaml(Manifests.Service("clusterIP: 127.96.0.1\nclusterIPs: [127.96.0.2]\nports: [{port: 80}]"));
        Assert.Equal(["test.yaml[doc 1] service default/web: spec.clusterIPs[0]: must match spec.clusterIP \"127.96.0.1\", got \"127.96.0.2\" (line 8, column 16)"], set.Errors());
    }

    [Fact]
    public void PreferClose_IsPreferSameZone()
    {
        Assert.Equal(TrafficDistribution.PreferSameZone, Assert.Single(Manifests.Yaml(Manifests.Service("trafficDistribution: PreferClose\nports: [{port: 80}]")).Services).TrafficDistribution);
        Assert.Equal(TrafficDistribution.PreferSameZone, Assert.Single(Manifests.Yaml(Manifests.Service("trafficDistribution: PreferSameZone\nports: [{port: 80}]")).Services).TrafficDistribution);
    }

    [Fact]
    public void TargetPort_NumberOrName()
    {
        var service = Assert.Single(Manifests.Yaml(Manifests.Service("ports:\n  - {name: a, port: 80, targetPort: 8080}\n  - {name: b, port: 81, targetPort: web-http}\n  - {name: c, port: 82}")).Services);
        Assert.Equal([(8080, null), (0, "web-http"), (0, null)], service.Ports.Select(p => (p.TargetPort, p.TargetPortName)));
        Assert.Equal([8080, 81, 82], service.Ports.Select(p => p.EffectiveTargetPort));
    }

    [Fact]
    public void HostnameOnlyIngress_IsAWarningAndIgnored()
    {
        var set = Manifests.Yaml(Manifests.Service("type: LoadBalancer\nports: [{port: 80}]") + """

            status:
              loadBalancer:
                ingress:
                  - hostname: lb.example.com
                  - ip: 127.0.4.2
            """);
        Assert.Equal(["warning: test.yaml[doc 1] service default/web: status.loadBalancer.ingress[0]: hostname-only ingress \"lb.example.com\" cannot be listened on; ignored (line 12, column 9)"], set.Printed());
        Assert.Equal([IPAddress.Parse("127.0.4.2")], Assert.Single(set.Services).LoadBalancerIngress.ToArray());
    }

    [Fact]
    public void Balancer_IsPassedToTheCatalogWhichChecksIt()
    {
        var set = Manifests.Yaml(Manifests.Service("ports: [{port: 80}]", extraMetadata: "  annotations: {fastproxy.io/balancer: fastest}"));
        Assert.False(set.HasErrors);
        Assert.Equal("fastest", Assert.Single(set.Services).Balancer);
        var error = Assert.Single(set.ValidateWithCatalog()).ToString();
        Assert.StartsWith("test.yaml[doc 1] service default/web: metadata.annotations[fastproxy.io/balancer]: unknown balancing strategy \"fastest\"; known: ", error, StringComparison.Ordinal);
        Assert.EndsWith("(line 5, column 40)", error, StringComparison.Ordinal);
    }
}

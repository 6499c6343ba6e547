using FastProxy.Manifests.Mapping;
using FastProxy.Model;

namespace FastProxy.Manifests.Tests;

/// <summary>The connection-policy annotations on a Service: mapped, defaulted, and each bad value reported at its annotation.</summary>
public sealed class ConnectionPolicyManifestTests
{
    [Fact]
    public void EveryAnnotation_IsMapped()
    {
        var set = Manifests.Yaml(Manifests.Service("ports: [{port: 80}]", extraMetadata: """
              annotations:
                fastproxy.io/drain-policy: drain
                fastproxy.io/drain-timeout: 1m30s
                fastproxy.io/max-connections: "100"
                fastproxy.io/max-connections-per-endpoint: "10"
                fastproxy.io/limit-action: queue
                fastproxy.io/queue-timeout: 500ms
                fastproxy.io/queue-limit: "50"
                fastproxy.io/connect-timeout: "2"
                fastproxy.io/idle-timeout: "0"
                fastproxy.io/proxy-protocol: v2
                fastproxy.io/accept-proxy-protocol: "true"
            """));

        Assert.False(set.HasErrors, string.Join("\n", set.Diagnostics));
        Assert.Equal(
            new ConnectionPolicy
            {
                Drain = DrainPolicy.Drain,
                DrainTimeout = TimeSpan.FromSeconds(90),
                MaxConnections = 100,
                MaxConnectionsPerEndpoint = 10,
                LimitAction = LimitAction.Queue,
                QueueTimeout = TimeSpan.FromMilliseconds(500),
                QueueLimit = 50,
                ConnectTimeout = TimeSpan.FromSeconds(2),
                IdleTimeout = TimeSpan.Zero,
                SendProxyProtocol = ProxyProtocolVersion.V2,
                AcceptProxyProtocol = true,
            },
            Assert.Single(set.Services).ConnectionPolicy);
        Assert.Empty(set.ValidateWithCatalog());
    }

    [Fact]
    public void NoAnnotations_DefaultPolicy()
    {
        var set = Manifests.Yaml(Manifests.Service("ports: [{port: 80}]"));
        Assert.Equal(ConnectionPolicy.Default, Assert.Single(set.Services).ConnectionPolicy);
    }

    [Theory]
    [InlineData("fastproxy.io/drain-policy: drop", "metadata.annotations[fastproxy.io/drain-policy]: must be one of keep, drain, close, got \"drop\"")]
    [InlineData("fastproxy.io/idle-timeout: 5 minutes", "metadata.annotations[fastproxy.io/idle-timeout]: must be a duration")]
    [InlineData("fastproxy.io/max-connections: many", "metadata.annotations[fastproxy.io/max-connections]: must be an integer")]
    [InlineData("fastproxy.io/proxy-protocol: v3", "metadata.annotations[fastproxy.io/proxy-protocol]: must be one of none, v1, v2")]
    public void BadValue_ErrorAtTheAnnotation(string annotation, string expected)
    {
        var set = Manifests.Yaml(Manifests.Service("ports: [{port: 80}]", extraMetadata: "  annotations: {" + annotation + "}"));
        Assert.True(set.HasErrors);
        Assert.Contains(set.Diagnostics, d => d.ToString().Contains(expected, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("fastproxy.io/max-connections: \"-1\"", "metadata.annotations[fastproxy.io/max-connections]: must not be negative")]
    [InlineData("fastproxy.io/drain-timeout: \"0\"", "metadata.annotations[fastproxy.io/drain-timeout]: must be greater than 0 and at most 1 day")]
    [InlineData("fastproxy.io/queue-limit: \"0\"", "metadata.annotations[fastproxy.io/queue-limit]: must be 1-1000000")]
    public void OutOfRange_TheCatalogNamesTheAnnotation(string annotation, string expected)
    {
        var set = Manifests.Yaml(Manifests.Service("ports: [{port: 80}]", extraMetadata: "  annotations: {" + annotation + "}"));
        Assert.False(set.HasErrors);
        Assert.Contains(expected, Assert.Single(set.ValidateWithCatalog()).ToString(), StringComparison.Ordinal);
    }
}

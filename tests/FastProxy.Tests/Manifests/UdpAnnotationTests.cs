using FastProxy.Model;

namespace FastProxy.Manifests.Tests;

/// <summary>The <c>fastproxy.io/udp-*</c> annotations: mapped to <see cref="Service.Udp"/>, checked with a field path and a line.</summary>
public sealed class UdpAnnotationTests
{
    private static string Dns(string annotations) => $$"""
        apiVersion: v1
        kind: Service
        metadata:
          name: dns
          annotations: {{{annotations}}}
        spec:
          clusterIP: 127.96.0.53
          ports:
            - {port: 53, protocol: UDP}
        """;

    [Fact]
    public void Annotations_SetTheTimeoutAndTheCap()
    {
        var set = Manifests.Yaml(Dns("fastproxy.io/udp-session-timeout: \"120\", fastproxy.io/udp-max-sessions: \"4096\""));

        Assert.Empty(set.Diagnostics);
        Assert.Equal(new UdpSessionPolicy { IdleTimeout = TimeSpan.FromSeconds(120), MaxSessions = 4096 }, Assert.Single(set.Services).Udp);
        Assert.Empty(set.ValidateWithCatalog());
    }

    [Fact]
    public void Absent_GivesTheDefaults()
    {
        var service = Assert.Single(Manifests.Yaml(Dns("")).Services);

        Assert.Same(UdpSessionPolicy.Default, service.Udp);
        Assert.Equal(TimeSpan.FromSeconds(30), service.Udp.IdleTimeout);
        Assert.Equal(16_384, service.Udp.MaxSessions);
    }

    [Fact]
    public void NotADuration_IsAnErrorAtTheAnnotation()
    {
        var set = Manifests.Yaml(Dns("fastproxy.io/udp-session-timeout: soon, fastproxy.io/udp-max-sessions: many"));

        Manifests.Lines(
            [
                "test.yaml[doc 1] service default/dns: metadata.annotations[fastproxy.io/udp-session-timeout]: must be a duration such as \"500ms\", \"30s\", \"5m\", \"1h30m\" or a number of seconds, got \"soon\" (line 5, column 51)",
                "test.yaml[doc 1] service default/dns: metadata.annotations[fastproxy.io/udp-max-sessions]: must be an integer, got \"many\" (line 5, column 88)",
            ],
            set.Errors());
    }

    [Fact]
    public void SessionTimeout_TakesTheDurationsOfEveryAnnotation()
    {
        var set = Manifests.Yaml(Dns("fastproxy.io/udp-session-timeout: 2m30s"));

        Assert.Empty(set.Errors());
        Assert.Equal(TimeSpan.FromSeconds(150), Assert.Single(set.Services).Udp.IdleTimeout);
    }

    [Fact]
    public void OutOfRange_IsTheCatalogsErrorAtTheAnnotationsLine()
    {
        var set = Manifests.Yaml(Dns("fastproxy.io/udp-session-timeout: \"0\", fastproxy.io/udp-max-sessions: \"0\""));
        Assert.Empty(set.Diagnostics);

        Manifests.Lines(
            [
                "test.yaml[doc 1] service default/dns: metadata.annotations[fastproxy.io/udp-max-sessions]: must be 1-1048576, got 0 (line 5, column 87)",
                "test.yaml[doc 1] service default/dns: metadata.annotations[fastproxy.io/udp-session-timeout]: must be 1-86400 seconds, got 0 (line 5, column 51)",
            ],
            set.ValidateWithCatalog().Select(d => d.ToString()).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void OnAPod_IsReportedAndIgnored()
    {
        var set = Manifests.Yaml("""
            apiVersion: v1
            kind: Pod
            metadata:
              name: p
              annotations: {fastproxy.io/udp-max-sessions: "5"}
            status: {podIP: 127.0.1.1}
            """);

        Manifests.Lines(
            ["warning: test.yaml[doc 1] pod default/p: metadata.annotations[fastproxy.io/udp-max-sessions]: applies to Services only; ignored (line 5, column 48)"],
            set.Printed());
    }
}

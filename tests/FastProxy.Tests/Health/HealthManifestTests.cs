using FastProxy.Manifests;
using FastProxy.Manifests.Mapping;
using FastProxy.Model;
using static FastProxy.Manifests.Tests.Manifests;

namespace FastProxy.Health.Tests;

public sealed class HealthManifestTests
{
    private const string Spec = """
        type: LoadBalancer
        externalTrafficPolicy: Local
        healthCheckNodePort: 31500
        selector: {app: web}
        ports: [{port: 80}]
        """;

    [Fact]
    public void Annotations_MapToPolicies()
    {
        var set = Yaml(Service(Spec, extraMetadata: """
              annotations:
                fastproxy.io/health-check: http
                fastproxy.io/health-check-path: /healthz
                fastproxy.io/health-check-port: "8081"
                fastproxy.io/health-check-interval: 1m30s
                fastproxy.io/health-check-timeout: 500ms
                fastproxy.io/health-check-healthy-threshold: "4"
                fastproxy.io/health-check-unhealthy-threshold: "5"
                fastproxy.io/health-check-jitter-percent: "0"
                fastproxy.io/health-check-expected-statuses: 200-299
                fastproxy.io/outlier-consecutive-failures: "7"
                fastproxy.io/outlier-base-ejection-time: 10s
                fastproxy.io/outlier-max-ejection-time: 1h
                fastproxy.io/panic-threshold: "25"
            """));
        Assert.Empty(set.Diagnostics);
        var service = Assert.Single(set.Services);
        Assert.Equal(
            new HealthCheckPolicy
            {
                Protocol = HealthCheckProtocol.Http,
                Path = "/healthz",
                Port = 8081,
                Interval = TimeSpan.FromSeconds(90),
                Timeout = TimeSpan.FromMilliseconds(500),
                HealthyThreshold = 4,
                UnhealthyThreshold = 5,
                JitterPercent = 0,
                ExpectedStatusMin = 200,
                ExpectedStatusMax = 299,
            },
            service.HealthCheck);
        Assert.Equal(new OutlierDetectionPolicy { ConsecutiveFailures = 7, BaseEjectionTime = TimeSpan.FromSeconds(10), MaxEjectionTime = TimeSpan.FromHours(1) }, service.OutlierDetection);
        Assert.Equal(25, service.PanicThreshold);
        Assert.Equal(31500, service.HealthCheckNodePort);
        Assert.Empty(set.ValidateWithCatalog());
    }

    [Fact]
    public void Annotations_Absent_LeaveHealthOff_AndOneOutlierSettingTurnsItOnWithDefaults()
    {
        var off = Assert.Single(Yaml(Service(Spec)).Services);
        Assert.Null(off.HealthCheck);
        Assert.Null(off.OutlierDetection);
        Assert.Equal(0, off.PanicThreshold);

        var on = Assert.Single(Yaml(Service(Spec, extraMetadata: "  annotations: {fastproxy.io/outlier-base-ejection-time: 5s, fastproxy.io/health-check: tcp}")).Services);
        Assert.Equal(new OutlierDetectionPolicy { BaseEjectionTime = TimeSpan.FromSeconds(5) }, on.OutlierDetection);
        Assert.Equal(new HealthCheckPolicy(), on.HealthCheck);
    }

    [Fact]
    public void BadValues_AreErrors_NamingTheAnnotation()
    {
        var set = Yaml(Service(Spec, extraMetadata: """
              annotations:
                fastproxy.io/health-check: udp
                fastproxy.io/health-check-interval: "5d"
                fastproxy.io/health-check-healthy-threshold: two
                fastproxy.io/health-check-expected-statuses: 2xx
                fastproxy.io/outlier-max-ejection-time: soon
            """));
        Lines(
            [
                "test.yaml[doc 1] service default/web: metadata.annotations[fastproxy.io/health-check]: must be \"tcp\" or \"http\", got \"udp\" (line 6, column 32)",
                "test.yaml[doc 1] service default/web: metadata.annotations[fastproxy.io/health-check-interval]: must be a duration such as \"500ms\", \"30s\", \"5m\", \"1h30m\" or a number of seconds, got \"5d\" (line 7, column 41)",
                "test.yaml[doc 1] service default/web: metadata.annotations[fastproxy.io/health-check-healthy-threshold]: must be an integer, got \"two\" (line 8, column 50)",
                "test.yaml[doc 1] service default/web: metadata.annotations[fastproxy.io/health-check-expected-statuses]: must be a status (\"200\") or a range (\"200-399\"), got \"2xx\" (line 9, column 50)",
                "test.yaml[doc 1] service default/web: metadata.annotations[fastproxy.io/outlier-max-ejection-time]: must be a duration such as \"500ms\", \"30s\", \"5m\", \"1h30m\" or a number of seconds, got \"soon\" (line 10, column 45)",
            ],
            set.Printed());
    }

    [Fact]
    public void CheckSettings_WithoutTheSwitch_AreErrors_AndRangesAreTheCatalogs()
    {
        var set = Yaml(Service(Spec, extraMetadata: "  annotations: {fastproxy.io/health-check-path: /healthz}"));
        Lines(["test.yaml[doc 1] service default/web: metadata.annotations[fastproxy.io/health-check-path]: needs fastproxy.io/health-check (tcp or http) to take effect (line 5, column 49)"], set.Printed());

        var outOfRange = Yaml(Service(Spec.Replace("31500", "70000", StringComparison.Ordinal), extraMetadata: "  annotations: {fastproxy.io/health-check: tcp, fastproxy.io/health-check-unhealthy-threshold: \"0\"}"));
        Assert.Empty(outOfRange.Diagnostics);
        Lines(
            [
                "test.yaml[doc 1] service default/web: metadata.annotations[fastproxy.io/health-check-unhealthy-threshold]: must be 1-100, got 0 (line 5, column 96)",
                "test.yaml[doc 1] service default/web: spec.healthCheckNodePort: must be 1-65535, got 70000 (line 9, column 24)",
            ],
            outOfRange.ValidateWithCatalog().Select(d => d.ToString()).Order(StringComparer.Ordinal));
    }
}

using System.Net;
using FastProxy.Model;

namespace FastProxy.Manifests.Tests;

/// <summary>Pods: labels, ports, readiness, termination, placement and weight.</summary>
public sealed class PodManifestTests
{
    private static string PodYaml(string status, string metadata = "", string spec = "") => $"""
        apiVersion: v1
        kind: Pod
        metadata:
          name: web-1
          labels:
            app: web
        {metadata}
        spec:
          containers:
            - name: main
              ports:
                - {"{"}name: http, containerPort: 8080{"}"}
        {spec}
        status:
        {Manifests.Indent(status)}
        """;

    [Fact]
    public void EveryField_IsMapped()
    {
        var set = Manifests.Yaml("""
            apiVersion: v1
            kind: Pod
            metadata:
              name: web-1
              namespace: shop
              labels:
                app: web
                topology.kubernetes.io/zone: zone-a
              annotations:
                fastproxy.io/weight: "7"
              uid: 1234
            spec:
              nodeName: node-1
              hostname: web-1
              subdomain: web-headless
              restartPolicy: Always
              containers:
                - name: main
                  image: nginx
                  ports:
                    - {name: http, containerPort: 8080}
                    - {name: metrics, containerPort: 9090, protocol: TCP}
                - name: sidecar
                  ports:
                    - {name: dns, containerPort: 5353, protocol: UDP}
            status:
              phase: Running
              podIP: 127.0.1.1
              conditions:
                - type: PodScheduled
                  status: "True"
                - type: Ready
                  status: "True"
                  lastTransitionTime: "2025-01-01T00:00:00Z"
            """);

        Assert.Empty(set.Diagnostics);
        var pod = Assert.Single(set.Pods);
        Assert.Equal(new NamespacedName("shop", "web-1"), pod.Id);
        Assert.Equal(IPAddress.Parse("127.0.1.1"), pod.Address);
        Assert.Equal("web", pod.Labels["app"]);
        Assert.Equal("zone-a", pod.Zone);
        Assert.Equal("node-1", pod.NodeName);
        Assert.Equal("web-1", pod.Hostname);
        Assert.Equal("web-headless", pod.Subdomain);
        Assert.Equal(7, pod.Weight);
        Assert.True(pod.Ready);
        Assert.False(pod.Terminating);
        Assert.Equal(
            [
                new ContainerPort { Name = "http", Port = 8080 },
                new ContainerPort { Name = "metrics", Port = 9090 },
                new ContainerPort { Name = "dns", Port = 5353, Protocol = ServiceProtocol.Udp },
            ],
            pod.ContainerPorts.ToArray());
    }

    [Fact]
    public void Defaults_WeightOneNoZoneNoNode()
    {
        var pod = Assert.Single(Manifests.Yaml(PodYaml("podIP: 127.0.1.1")).Pods);
        Assert.Equal(1, pod.Weight);
        Assert.Null(pod.Zone);
        Assert.Null(pod.NodeName);
        Assert.Null(pod.Hostname);
        Assert.Equal(NamespacedName.DefaultNamespace, pod.Namespace);
    }

    [Theory]
    [InlineData("conditions: [{type: Ready, status: \"True\"}]", true)]
    [InlineData("conditions: [{type: Ready, status: \"False\"}]", false)]
    [InlineData("conditions: [{type: Ready, status: \"Unknown\"}]", false)]
    // Kubernetes: a pod whose conditions lack Ready is not ready.
    [InlineData("conditions: [{type: PodScheduled, status: \"True\"}]", false)]
    [InlineData("conditions: []", false)]
    // FastProxy's one deviation: no status.conditions at all (a hand-written manifest) is ready.
    [InlineData("phase: Running", true)]
    public void Ready_FollowsTheReadyCondition(string status, bool ready)
    {
        var set = Manifests.Yaml(PodYaml($"podIP: 127.0.1.1\n{status}"));
        Assert.Empty(set.Diagnostics);
        Assert.Equal(ready, Assert.Single(set.Pods).Ready);
    }

    [Fact]
    public void DeletionTimestamp_MeansTerminating()
    {
        var pod = Assert.Single(Manifests.Yaml(PodYaml("podIP: 127.0.1.1", metadata: "  deletionTimestamp: \"2025-06-01T12:00:00Z\"")).Pods);
        Assert.True(pod.Terminating);
    }

    [Fact]
    public void PodIPs_FirstIsTheAddress()
    {
        var pod = Assert.Single(Manifests.Yaml(PodYaml("podIPs:\n  - ip: 127.0.1.9\n  - ip: \"fd00::9\"")).Pods);
        Assert.Equal(IPAddress.Parse("127.0.1.9"), pod.Address);
    }

    [Theory]
    [InlineData("phase: Pending")]
    [InlineData("podIP: \"\"")]
    public void PendingPod_IsSkippedWithAWarning(string status)
    {
        var set = Manifests.Yaml(PodYaml(status));
        Assert.Empty(set.Pods);
        Assert.False(set.HasErrors);
        Assert.Equal(["warning: test.yaml[doc 1] pod default/web-1: status.podIP: no pod IP (the pod is pending); not an endpoint, skipped (line 15, column 3)"], set.Printed());
    }

    [Fact]
    public void PodWithoutStatus_IsSkippedWithAWarning()
    {
        var set = Manifests.Yaml("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {}\n");
        Assert.Equal(["warning: test.yaml[doc 1] pod default/p: status.podIP: no pod IP (the pod is pending); not an endpoint, skipped (line 1, column 1)"], set.Printed());
    }

    [Theory]
    [InlineData("Succeeded")]
    [InlineData("Failed")]
    public void FinishedPod_IsSkippedWithAWarning(string phase)
    {
        var set = Manifests.Yaml(PodYaml($"podIP: 127.0.1.1\nphase: {phase}"));
        Assert.Empty(set.Pods);
        Assert.Equal([$"warning: test.yaml[doc 1] pod default/web-1: status.phase: the pod has finished ({phase}); not an endpoint, skipped (line 16, column 10)"], set.Printed());
    }

    [Fact]
    public void Weight_MustBeAnInteger()
    {
        var set = Manifests.Yaml(PodYaml("podIP: 127.0.1.1", metadata: "  annotations:\n    fastproxy.io/weight: heavy"));
        Assert.Empty(set.Pods);
        Assert.Equal(["test.yaml[doc 1] pod default/web-1: metadata.annotations[fastproxy.io/weight]: must be an integer, got \"heavy\" (line 8, column 26)"], set.Errors());
    }

    [Fact]
    public void Weight_RangeIsTheCatalogs()
    {
        var set = Manifests.Yaml(PodYaml("podIP: 127.0.1.1", metadata: "  annotations:\n    fastproxy.io/weight: \"0\""));
        Assert.Empty(set.Diagnostics);
        Assert.Equal(["test.yaml[doc 1] pod default/web-1: metadata.annotations[fastproxy.io/weight]: must be 1-10000, got 0 (line 8, column 26)"], set.ValidateWithCatalog().Select(d => d.ToString()));
    }

    [Fact]
    public void Weight_UnquotedIsAnError_AsKubernetesRequiresStringAnnotations()
    {
        var set = Manifests.Yaml(PodYaml("podIP: 127.0.1.1", metadata: "  annotations:\n    fastproxy.io/weight: 5"));
        Assert.Equal(["test.yaml[doc 1] pod default/web-1: metadata.annotations[fastproxy.io/weight]: must be a string, got 5 (quote it: \"5\") (line 8, column 26)"], set.Errors());
    }
}

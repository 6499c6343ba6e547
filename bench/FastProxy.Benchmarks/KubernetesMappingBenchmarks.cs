using BenchmarkDotNet.Attributes;
using FastProxy.Kubernetes;
using FastProxy.Kubernetes.Mapping;
using FastProxy.Manifests;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging.Abstractions;

namespace FastProxy.Benchmarks;

/// <summary>
/// What one watch event costs the Kubernetes source, per object, beside what the client itself spends on
/// it: the client's deserialization of the event's object (its own cost, before FastProxy sees anything),
/// FastProxy's mapping of the typed object (serialize with the client's serializer, read as a manifest:
/// the price of having one mapping for files and the API), and reading the same JSON as a manifest file.
/// A realistic running pod (status, probes, owner references, managed fields left out) and an EndpointSlice.
/// </summary>
/// <remarks>No job attribute: run it with <c>--job short --inProcess</c> (microseconds per call; a separate build of the generated project only adds minutes on a loaded machine).</remarks>
[MemoryDiagnoser]
public class KubernetesMappingBenchmarks
{
    private const string PodJson = """
        {"kind":"Pod","apiVersion":"v1","metadata":{"name":"web-5d9c7f8b6-2xk4p","generateName":"web-5d9c7f8b6-","namespace":"shop","uid":"e1f2a3b4-c5d6-4e7f-8091-a2b3c4d5e6f7","resourceVersion":"940","creationTimestamp":"2026-11-20T09:00:05Z","labels":{"app":"web","pod-template-hash":"5d9c7f8b6"},"annotations":{"fastproxy.io/weight":"3"},"ownerReferences":[{"apiVersion":"apps/v1","kind":"ReplicaSet","name":"web-5d9c7f8b6","uid":"b0c1d2e3-f4a5-4b6c-8d7e-9f0a1b2c3d4e","controller":true,"blockOwnerDeletion":true}]},"spec":{"containers":[{"name":"web","image":"registry.example/web:1.4.2","ports":[{"name":"http","containerPort":8080,"protocol":"TCP"}],"resources":{},"terminationMessagePath":"/dev/termination-log","terminationMessagePolicy":"File","imagePullPolicy":"IfNotPresent","readinessProbe":{"httpGet":{"path":"/ready","port":"http","scheme":"HTTP"},"timeoutSeconds":1,"periodSeconds":5,"successThreshold":1,"failureThreshold":3}}],"restartPolicy":"Always","terminationGracePeriodSeconds":30,"dnsPolicy":"ClusterFirst","serviceAccountName":"default","serviceAccount":"default","nodeName":"node-a","schedulerName":"default-scheduler","priority":0,"enableServiceLinks":true,"preemptionPolicy":"PreemptLowerPriority"},"status":{"phase":"Running","conditions":[{"type":"Initialized","status":"True","lastProbeTime":null,"lastTransitionTime":"2026-11-20T09:00:05Z"},{"type":"Ready","status":"True","lastProbeTime":null,"lastTransitionTime":"2026-11-20T09:00:09Z"},{"type":"ContainersReady","status":"True","lastProbeTime":null,"lastTransitionTime":"2026-11-20T09:00:09Z"},{"type":"PodScheduled","status":"True","lastProbeTime":null,"lastTransitionTime":"2026-11-20T09:00:05Z"}],"hostIP":"127.0.0.1","hostIPs":[{"ip":"127.0.0.1"}],"podIP":"127.120.1.1","podIPs":[{"ip":"127.120.1.1"}],"startTime":"2026-11-20T09:00:05Z","containerStatuses":[{"name":"web","state":{"running":{"startedAt":"2026-11-20T09:00:07Z"}},"lastState":{},"ready":true,"restartCount":0,"image":"registry.example/web:1.4.2","imageID":"registry.example/web@sha256:4f1c9a0d","containerID":"containerd://8d1e4c7a","started":true}],"qosClass":"BestEffort"}}
        """;

    private const string SliceJson = """
        {"kind":"EndpointSlice","apiVersion":"discovery.k8s.io/v1","metadata":{"name":"web-7k2fq","generateName":"web-","namespace":"shop","uid":"c1d2e3f4-0a1b-4c2d-8e3f-405162738495","resourceVersion":"990","generation":4,"creationTimestamp":"2026-11-20T09:00:01Z","labels":{"endpointslice.kubernetes.io/managed-by":"endpointslice-controller.k8s.io","kubernetes.io/service-name":"web"},"ownerReferences":[{"apiVersion":"v1","kind":"Service","name":"web","uid":"5b1f3c0e-8d2a-4d7e-9a51-0c9f2b6e4a11","controller":true,"blockOwnerDeletion":true}]},"addressType":"IPv4","endpoints":[{"addresses":["127.120.1.1"],"conditions":{"ready":true,"serving":true,"terminating":false},"targetRef":{"kind":"Pod","namespace":"shop","name":"web-5d9c7f8b6-2xk4p","uid":"e1f2a3b4-c5d6-4e7f-8091-a2b3c4d5e6f7"},"nodeName":"node-a","zone":"zone-1"},{"addresses":["127.120.1.2"],"conditions":{"ready":true,"serving":true,"terminating":false},"targetRef":{"kind":"Pod","namespace":"shop","name":"web-5d9c7f8b6-8mq2z","uid":"f2a3b4c5-d6e7-4f80-91a2-b3c4d5e6f708"},"nodeName":"node-b","zone":"zone-2"},{"addresses":["127.120.1.3"],"conditions":{"ready":false,"serving":true,"terminating":true},"targetRef":{"kind":"Pod","namespace":"shop","name":"web-5d9c7f8b6-r7w9d","uid":"a3b4c5d6-e7f8-4091-a2b3-c4d5e6f70819"},"nodeName":"node-a","zone":"zone-1"}],"ports":[{"name":"http","protocol":"TCP","port":8080}]}
        """;

    // Pods mode maps pods; EndpointSlices mode maps the controller's slices (Pods mode leaves them out).
    private readonly ObjectMapper _podMapper = new(KubernetesEndpointsMode.Pods, NullLogger.Instance);
    private readonly ObjectMapper _sliceMapper = new(KubernetesEndpointsMode.EndpointSlices, NullLogger.Instance);
    private V1Pod _pod = null!;
    private V1EndpointSlice _slice = null!;

    [GlobalSetup]
    public void Setup()
    {
        _pod = KubernetesJson.Deserialize<V1Pod>(PodJson);
        _slice = KubernetesJson.Deserialize<V1EndpointSlice>(SliceJson);
        if (_podMapper.Map(ManifestObjectKind.Pod, _pod).Model is null || _sliceMapper.Map(ManifestObjectKind.EndpointSlice, _slice).Model is null)
        {
            throw new InvalidOperationException("the benchmark's objects do not map");
        }
    }

    [Benchmark(Baseline = true, Description = "pod: client deserializes the event object")]
    public V1Pod PodClientDeserialize() => KubernetesJson.Deserialize<V1Pod>(PodJson);

    [Benchmark(Description = "pod: FastProxy maps the typed object")]
    public object? PodMap() => _podMapper.Map(ManifestObjectKind.Pod, _pod).Model;

    [Benchmark(Description = "pod: the same JSON read as a manifest file")]
    public int PodManifest() => ManifestReader.Parse(PodJson, "pod.json").Pods.Length;

    [Benchmark(Description = "slice: client deserializes the event object")]
    public V1EndpointSlice SliceClientDeserialize() => KubernetesJson.Deserialize<V1EndpointSlice>(SliceJson);

    [Benchmark(Description = "slice: FastProxy maps the typed object")]
    public object? SliceMap() => _sliceMapper.Map(ManifestObjectKind.EndpointSlice, _slice).Model;
}

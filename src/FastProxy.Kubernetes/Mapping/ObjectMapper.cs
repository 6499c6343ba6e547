using System.Collections.Immutable;
using FastProxy.Manifests;
using FastProxy.Manifests.Mapping;
using FastProxy.Model;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging;

namespace FastProxy.Kubernetes.Mapping;

/// <summary>
/// Maps API objects with FastProxy.Manifests, one object at a time: each is written back to the JSON the
/// API server sent (the client's own serializer) and read as a manifest, so validation, defaults and the
/// <c>fastproxy.io/</c> annotations are exactly those of manifest files. One mapping, not two.
/// </summary>
internal sealed class ObjectMapper
{
    /// <summary>The label the EndpointSlice controller puts on the slices it derives from pods.</summary>
    internal const string ManagedByLabel = "endpointslice.kubernetes.io/managed-by";
    internal const string EndpointSliceController = "endpointslice-controller.k8s.io";

    private readonly KubernetesEndpointsMode _mode;
    private readonly ILogger _logger;

    public ObjectMapper(KubernetesEndpointsMode mode, ILogger logger)
    {
        _mode = mode;
        _logger = logger;
    }

    public MappedObject Map(ManifestObjectKind kind, IKubernetesObject<V1ObjectMeta> item)
    {
        var metadata = item.Metadata;
        var id = new NamespacedName(string.IsNullOrEmpty(metadata?.NamespaceProperty) ? NamespacedName.DefaultNamespace : metadata.NamespaceProperty, metadata?.Name ?? string.Empty);
        if (kind == ManifestObjectKind.EndpointSlice && _mode == KubernetesEndpointsMode.Pods
            && metadata?.Labels is { } labels && labels.TryGetValue(ManagedByLabel, out var manager) && manager == EndpointSliceController)
        {
            // Pods mode computes these endpoints from the pods; the controller's slices would count them twice.
            return new MappedObject(kind, id, metadata.ResourceVersion, null, []);
        }

        // List items come without kind and apiVersion; a manifest needs them.
        (item.ApiVersion, item.Kind) = (KindNames.ApiVersion(kind), KindNames.Name(kind));
        var json = KubernetesJson.Serialize(item);
        var set = ManifestReader.Parse(json, $"{KindNames.Resource(kind)}/{id}.json", new ManifestReadOptions { DefaultNamespace = id.Namespace });
        foreach (var warning in set.Diagnostics.Where(static d => d.Severity == ManifestSeverity.Warning))
        {
            KubernetesSourceLog.ObjectWarning(_logger, KindName(kind), id.ToString(), Describe(warning));
        }

        if (set.HasErrors)
        {
            return new MappedObject(kind, id, metadata?.ResourceVersion, null, [.. set.Diagnostics.Where(static d => d.Severity == ManifestSeverity.Error)]);
        }

        object? model = kind switch
        {
            ManifestObjectKind.Service => set.Services.FirstOrDefault(),
            ManifestObjectKind.Pod => set.Pods.FirstOrDefault(),
            _ => set.EndpointSlices.FirstOrDefault(),
        };
        return new MappedObject(kind, id, metadata?.ResourceVersion, model, []);
    }

    internal static string KindName(ManifestObjectKind kind) => KindNames.Name(kind);

    /// <summary>The field path and the reason, without the made-up file name the object was parsed under.</summary>
    internal static string Describe(ManifestDiagnostic diagnostic)
        => diagnostic.Field is { } field ? $"{field}: {diagnostic.Message}" : diagnostic.Message;

    internal static string Describe(ImmutableArray<ManifestDiagnostic> errors) => string.Join("; ", errors.Select(Describe));
}

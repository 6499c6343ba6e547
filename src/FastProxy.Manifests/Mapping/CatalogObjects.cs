using FastProxy.Catalog;
using FastProxy.Model;

namespace FastProxy.Manifests.Mapping;

/// <summary>
/// One object as the sources that feed the catalog object by object (etcd, the Kubernetes API) hold it:
/// its kind, its id and its model. The one place that turns a parsed manifest into such objects and such
/// objects into catalog changes, so every source maps and applies them alike.
/// </summary>
internal static class CatalogObjects
{
    /// <summary>Every object <paramref name="set"/> holds, services first, as (kind, id, model).</summary>
    public static List<(ManifestObjectKind Kind, NamespacedName Id, object Model)> All(ManifestSet set)
    {
        var objects = new List<(ManifestObjectKind, NamespacedName, object)>(set.Services.Length + set.Pods.Length + set.EndpointSlices.Length + set.Endpoints.Length);
        objects.AddRange(set.Services.Select(static s => (ManifestObjectKind.Service, s.Id, (object)s)));
        objects.AddRange(set.Pods.Select(static p => (ManifestObjectKind.Pod, p.Id, (object)p)));
        objects.AddRange(set.EndpointSlices.Select(static s => (ManifestObjectKind.EndpointSlice, s.Id, (object)s)));
        objects.AddRange(set.Endpoints.Select(static e => (ManifestObjectKind.Endpoints, e.Id, (object)e)));
        return objects;
    }

    /// <summary>Adds to <paramref name="update"/>: set <paramref name="model"/>, or remove the object when it is null.</summary>
    public static CatalogUpdate Add(CatalogUpdate update, ManifestObjectKind kind, NamespacedName id, object? model) => (model, kind) switch
    {
        (Service service, _) => update.SetService(service),
        (Pod pod, _) => update.SetPod(pod),
        (EndpointSlice slice, _) => update.SetEndpointSlice(slice),
        (Endpoints endpoints, _) => update.SetEndpoints(endpoints),
        (null, ManifestObjectKind.Service) => update.RemoveService(id),
        (null, ManifestObjectKind.Pod) => update.RemovePod(id),
        (null, ManifestObjectKind.EndpointSlice) => update.RemoveEndpointSlice(id),
        (null, _) => update.RemoveEndpoints(id),
        _ => throw new ArgumentException($"not a catalog object: {model.GetType().Name}", nameof(model)),
    };
}

using System.Diagnostics.CodeAnalysis;
using FastProxy.Catalog;
using FastProxy.Model;

namespace FastProxy.Manifests.Mapping;

/// <summary>
/// One object as the sources that feed the catalog object by object (etcd, the Kubernetes API) hold it:
/// its kind, its id and its model. The one place that turns a parsed manifest into such objects, such
/// objects into catalog changes, and applies a batch of them with refusals isolated, so every source maps
/// and applies them alike.
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

    /// <summary>
    /// Applies <paramref name="changes"/> as one catalog version. When the catalog refuses the batch (a
    /// virtual IP or node port clash, an unknown balancer...), applies them one by one, so only the refused
    /// ones are skipped and each is handed to <paramref name="refused"/>. <paramref name="committed"/> hears
    /// every batch that went in. Returns how many changes took effect. A change's model, null, removes it.
    /// </summary>
    public static int ApplyIsolatingRefusals<T>(
        ServiceCatalog catalog,
        IReadOnlyList<T> changes,
        Func<T, (ManifestObjectKind Kind, NamespacedName Id, object? Model)> describe,
        Action<IReadOnlyList<T>> committed,
        Action<T, CatalogValidationException> refused)
    {
        if (changes.Count == 0)
        {
            return 0;
        }

        if (TryApply(catalog, changes, describe, committed, out var error))
        {
            return changes.Count;
        }

        if (changes.Count == 1)
        {
            refused(changes[0], error);
            return 0;
        }

        var applied = 0;
        foreach (var change in changes)
        {
            if (TryApply(catalog, [change], describe, committed, out error))
            {
                applied++;
            }
            else
            {
                refused(change, error);
            }
        }

        return applied;
    }

    private static bool TryApply<T>(
        ServiceCatalog catalog,
        IReadOnlyList<T> changes,
        Func<T, (ManifestObjectKind Kind, NamespacedName Id, object? Model)> describe,
        Action<IReadOnlyList<T>> committed,
        [NotNullWhen(false)] out CatalogValidationException? error)
    {
        var update = new CatalogUpdate();
        foreach (var change in changes)
        {
            var (kind, id, model) = describe(change);
            Add(update, kind, id, model);
        }

        try
        {
            catalog.Apply(update);
        }
        catch (CatalogValidationException ex)
        {
            error = ex;
            return false;
        }

        committed(changes);
        error = null;
        return true;
    }
}

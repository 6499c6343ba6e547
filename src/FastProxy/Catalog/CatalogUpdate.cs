using FastProxy.Model;

namespace FastProxy.Catalog;

/// <summary>
/// A batch of changes applied to a <see cref="ServiceCatalog"/> as one atomic step: validated whole,
/// published as one new version, or rejected whole. Later changes to the same object win.
/// </summary>
public sealed class CatalogUpdate
{
    private readonly List<Change> _changes = [];

    /// <summary>True when the batch holds no change.</summary>
    public bool IsEmpty => _changes.Count == 0;

    /// <summary>Adds or replaces a service.</summary>
    /// <param name="service">The service's new definition.</param>
    /// <returns>This batch, for chaining.</returns>
    public CatalogUpdate SetService(Service service)
    {
        ArgumentNullException.ThrowIfNull(service);
        _changes.Add(new Change(ChangeKind.SetService, service.Id, service, null));
        return this;
    }

    /// <summary>Removes a service; removing one that does not exist is not an error.</summary>
    /// <param name="id">The service's namespace and name.</param>
    /// <returns>This batch, for chaining.</returns>
    public CatalogUpdate RemoveService(NamespacedName id)
    {
        _changes.Add(new Change(ChangeKind.RemoveService, id, null, null));
        return this;
    }

    /// <summary>Adds or replaces a pod.</summary>
    /// <param name="pod">The pod's new definition.</param>
    /// <returns>This batch, for chaining.</returns>
    public CatalogUpdate SetPod(Pod pod)
    {
        ArgumentNullException.ThrowIfNull(pod);
        _changes.Add(new Change(ChangeKind.SetPod, pod.Id, null, pod));
        return this;
    }

    /// <summary>Removes a pod; removing one that does not exist is not an error.</summary>
    /// <param name="id">The pod's namespace and name.</param>
    /// <returns>This batch, for chaining.</returns>
    public CatalogUpdate RemovePod(NamespacedName id)
    {
        _changes.Add(new Change(ChangeKind.RemovePod, id, null, null));
        return this;
    }

    /// <summary>Adds or replaces an endpoint slice.</summary>
    /// <param name="slice">The slice's new definition.</param>
    /// <returns>This batch, for chaining.</returns>
    public CatalogUpdate SetEndpointSlice(EndpointSlice slice)
    {
        ArgumentNullException.ThrowIfNull(slice);
        _changes.Add(new Change(ChangeKind.SetEndpointSlice, slice.Id, null, null, slice));
        return this;
    }

    /// <summary>Removes an endpoint slice; removing one that does not exist is not an error.</summary>
    /// <param name="id">The slice's namespace and name.</param>
    /// <returns>This batch, for chaining.</returns>
    public CatalogUpdate RemoveEndpointSlice(NamespacedName id)
    {
        _changes.Add(new Change(ChangeKind.RemoveEndpointSlice, id, null, null));
        return this;
    }

    /// <summary>Adds or replaces a core/v1 Endpoints object.</summary>
    /// <param name="endpoints">The object's new definition.</param>
    /// <returns>This batch, for chaining.</returns>
    public CatalogUpdate SetEndpoints(Endpoints endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        _changes.Add(new Change(ChangeKind.SetEndpoints, endpoints.Id, null, null, null, endpoints));
        return this;
    }

    /// <summary>Removes a core/v1 Endpoints object; removing one that does not exist is not an error.</summary>
    /// <param name="id">The object's namespace and name.</param>
    /// <returns>This batch, for chaining.</returns>
    public CatalogUpdate RemoveEndpoints(NamespacedName id)
    {
        _changes.Add(new Change(ChangeKind.RemoveEndpoints, id, null, null));
        return this;
    }

    internal IReadOnlyList<Change> Changes => _changes;

    internal enum ChangeKind
    {
        SetService,
        RemoveService,
        SetPod,
        RemovePod,
        SetEndpointSlice,
        RemoveEndpointSlice,
        SetEndpoints,
        RemoveEndpoints,
    }

    internal readonly record struct Change(ChangeKind Kind, NamespacedName Id, Service? Service, Pod? Pod, EndpointSlice? Slice = null, Endpoints? Endpoints = null);
}

using System.Collections.Immutable;
using FastProxy.Model;

namespace FastProxy.Catalog;

/// <summary>
/// One published version of the whole catalog: immutable, shared by every reader without locks.
/// A new version is published by a single reference swap.
/// </summary>
public sealed class CatalogSnapshot
{
    internal CatalogSnapshot(long version, ImmutableDictionary<NamespacedName, ServiceSnapshot> services, ImmutableArray<NamespacedName> changedServices)
    {
        Version = version;
        Services = services;
        ChangedServices = changedServices;
    }

    /// <summary>The version: 0 for the empty catalog, then +1 for every applied update.</summary>
    public long Version { get; }

    /// <summary>Every service, by identity.</summary>
    public ImmutableDictionary<NamespacedName, ServiceSnapshot> Services { get; }

    /// <summary>The services this version added, changed (definition or endpoints) or removed, compared with the previous version.</summary>
    public ImmutableArray<NamespacedName> ChangedServices { get; }

    /// <summary>Looks a service up by identity.</summary>
    /// <param name="id">The service's namespace and name.</param>
    /// <param name="service">The service, when found.</param>
    public bool TryGetService(NamespacedName id, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out ServiceSnapshot? service)
        => Services.TryGetValue(id, out service);
}

using System.Collections.Immutable;
using FastProxy.Catalog;
using FastProxy.Manifests.Loading;
using FastProxy.Manifests.Syntax;
using FastProxy.Model;

namespace FastProxy.Manifests;

/// <summary>
/// What a set of manifest files holds: the valid objects, in file order, and every diagnostic. An object
/// with an error is not in the set (its diagnostics say why); warnings never keep an object out.
/// </summary>
public sealed class ManifestSet
{
    private readonly IReadOnlyList<ManifestEntry> _entries;
    private readonly Dictionary<(ManifestObjectKind, NamespacedName), ManifestEntry> _byId;

    internal ManifestSet(IReadOnlyList<ManifestEntry> entries, ImmutableArray<ManifestDiagnostic> diagnostics, bool hasErrors)
    {
        _entries = entries;
        _byId = entries.ToDictionary(static e => (e.Kind, e.Id));
        Diagnostics = diagnostics;
        HasErrors = hasErrors;
        Services = Models<Service>(ManifestObjectKind.Service);
        Pods = Models<Pod>(ManifestObjectKind.Pod);
        EndpointSlices = Models<EndpointSlice>(ManifestObjectKind.EndpointSlice);
        Endpoints = Models<Endpoints>(ManifestObjectKind.Endpoints);
    }

    /// <summary>A set with no object and no diagnostic: the "previous" set before the first load.</summary>
    public static ManifestSet Empty { get; } = new([], [], false);

    /// <summary>The services, in the order their files and documents were read.</summary>
    public ImmutableArray<Service> Services { get; }

    /// <summary>The pods that are endpoints (running, with an address), in file order; pending and finished pods are left out with a warning.</summary>
    public ImmutableArray<Pod> Pods { get; }

    /// <summary>The endpoint slices, in file order; FQDN slices are left out with a warning.</summary>
    public ImmutableArray<EndpointSlice> EndpointSlices { get; }

    /// <summary>The core/v1 Endpoints objects, in file order.</summary>
    public ImmutableArray<Endpoints> Endpoints { get; }

    /// <summary>Every error and warning, in file order (files that could not be read come where they were named).</summary>
    public ImmutableArray<ManifestDiagnostic> Diagnostics { get; }

    /// <summary>True when any diagnostic is an error (even one past <see cref="ManifestReadOptions.MaxDiagnosticsPerFile"/>): some object or file was not loaded.</summary>
    public bool HasErrors { get; }

    /// <summary>Returns where an object of the set was defined, with the line it starts on; null when the set has no such object.</summary>
    /// <param name="kind">The object's kind.</param>
    /// <param name="id">The object's namespace and name.</param>
    /// <returns>The object's file, document, list item and line, or null.</returns>
    public ManifestLocation? FindSource(ManifestObjectKind kind, NamespacedName id)
        => _byId.TryGetValue((kind, id), out var entry) ? entry.Location : null;

    /// <summary>
    /// Returns the changes that turn a catalog holding <paramref name="previous"/> into one holding this
    /// set: a set for every object that is new or changed, a remove for every object that is gone.
    /// Applied with <see cref="ServiceCatalog.Apply"/>, it takes effect as one atomic version, or not at all.
    /// </summary>
    /// <param name="previous">The set the catalog was last made equal to; null or <see cref="Empty"/> for an empty catalog.</param>
    /// <returns>The batch; <see cref="CatalogUpdate.IsEmpty"/> when nothing changed.</returns>
    /// <exception cref="InvalidOperationException">The set has errors: objects that failed to load would be removed from the catalog.</exception>
    public CatalogUpdate ToCatalogUpdate(ManifestSet? previous = null)
    {
        if (HasErrors)
        {
            throw new InvalidOperationException("The manifests have errors; fix them (see Diagnostics) before applying, or the objects that failed to load would be removed.");
        }

        return Diff(previous ?? Empty);
    }

    /// <summary>
    /// Checks the set against the catalog's own rules (balancer names, port ranges and uniqueness, virtual
    /// IP and node port clashes, session affinity timeouts...) by applying it to a fresh
    /// <see cref="ServiceCatalog"/>, and returns the catalog's errors located in the files: file,
    /// document, object, field and line. Works on a set with errors too, over the objects that loaded.
    /// </summary>
    /// <param name="options">The catalog settings to check against (service CIDR, strategies); defaults apply when null.</param>
    /// <returns>The catalog's errors; empty when the catalog accepts the set.</returns>
    public ImmutableArray<ManifestDiagnostic> ValidateWithCatalog(ServiceCatalogOptions? options = null)
    {
        var catalog = new ServiceCatalog(options);
        try
        {
            catalog.Apply(Diff(Empty));
            return [];
        }
        catch (CatalogValidationException ex)
        {
            return CatalogErrors.Locate(ex.Errors, _entries);
        }
    }

    private CatalogUpdate Diff(ManifestSet previous)
    {
        var update = new CatalogUpdate();
        foreach (var entry in _entries)
        {
            if (previous._byId.TryGetValue((entry.Kind, entry.Id), out var before) && NodeEquality.Equal(before.Root, entry.Root))
            {
                continue;
            }

            _ = entry.Model switch
            {
                Service service => update.SetService(service),
                Pod pod => update.SetPod(pod),
                EndpointSlice slice => update.SetEndpointSlice(slice),
                Endpoints endpoints => update.SetEndpoints(endpoints),
                _ => update,
            };
        }

        foreach (var entry in previous._entries)
        {
            if (_byId.ContainsKey((entry.Kind, entry.Id)))
            {
                continue;
            }

            _ = entry.Kind switch
            {
                ManifestObjectKind.Service => update.RemoveService(entry.Id),
                ManifestObjectKind.Pod => update.RemovePod(entry.Id),
                ManifestObjectKind.EndpointSlice => update.RemoveEndpointSlice(entry.Id),
                _ => update.RemoveEndpoints(entry.Id),
            };
        }

        return update;
    }

    private ImmutableArray<T> Models<T>(ManifestObjectKind kind)
        => [.. _entries.Where(e => e.Kind == kind).Select(static e => (T)e.Model)];
}

using FastProxy.Catalog;
using FastProxy.Manifests;
using FastProxy.Manifests.Mapping;
using FastProxy.Model;
using Microsoft.Extensions.Logging;

namespace FastProxy.Kubernetes.Mapping;

/// <summary>
/// The API objects the catalog holds, by kind and name, with the resourceVersion each was applied at.
/// Turns lists (a whole resource, or one namespace of it) and watch events into catalog updates: a list
/// is one update that also removes what the list no longer has; an invalid object is skipped and its
/// last good version stays; an object the catalog refuses (say, a clashing cluster IP) is skipped alone
/// while the rest of the batch goes in.
/// </summary>
internal sealed class CatalogMirror
{
    private readonly ServiceCatalog _catalog;
    private readonly ILogger _logger;
    private readonly Lock _lock = new();
    private readonly Dictionary<(ManifestObjectKind Kind, NamespacedName Id), string?> _applied = [];

    public CatalogMirror(ServiceCatalog catalog, ILogger logger)
    {
        _catalog = catalog;
        _logger = logger;
    }

    /// <summary>Makes the catalog hold exactly the listed objects of <paramref name="kind"/> (in <paramref name="ns"/>, or everywhere when null).</summary>
    public void ApplyList(ManifestObjectKind kind, string? ns, IReadOnlyList<MappedObject> objects)
    {
        lock (_lock)
        {
            var listed = new HashSet<NamespacedName>(objects.Select(static o => o.Id));
            var changes = new List<MappedObject>();
            foreach (var item in objects)
            {
                AddChange(changes, item);
            }

            foreach (var key in _applied.Keys)
            {
                if (key.Kind == kind && (ns is null || key.Id.Namespace == ns) && !listed.Contains(key.Id))
                {
                    changes.Add(new MappedObject(kind, key.Id, null, null, []));
                }
            }

            Apply(changes);
        }
    }

    /// <summary>Applies one watch event: ADDED or MODIFIED (<paramref name="deleted"/> false) or DELETED.</summary>
    public void ApplyEvent(MappedObject item, bool deleted)
    {
        lock (_lock)
        {
            var changes = new List<MappedObject>(1);
            AddChange(changes, deleted ? item with { Model = null, Errors = [] } : item);
            Apply(changes);
        }
    }

    private void AddChange(List<MappedObject> changes, MappedObject item)
    {
        var key = (item.Kind, item.Id);
        var known = _applied.TryGetValue(key, out var appliedVersion);
        if (item.IsInvalid)
        {
            KubernetesSourceLog.InvalidObject(_logger, ObjectMapper.KindName(item.Kind), item.Id.ToString(), ObjectMapper.Describe(item.Errors));
            return;
        }

        if (item.Model is null ? !known : known && item.ResourceVersion is not null && appliedVersion == item.ResourceVersion)
        {
            // Gone and never applied, or the very version applied already (a relist, a repeated event).
            return;
        }

        changes.Add(item);
    }

    private void Apply(List<MappedObject> changes)
        => CatalogObjects.ApplyIsolatingRefusals(_catalog, changes, static c => (c.Kind, c.Id, c.Model), Commit, Refused);

    private void Refused(MappedObject change, CatalogValidationException ex)
        => KubernetesSourceLog.RefusedObject(_logger, ObjectMapper.KindName(change.Kind), change.Id.ToString(), string.Join("; ", ex.Errors.Select(static e => $"{e.Field}: {e.Message}")));

    private void Commit(IReadOnlyList<MappedObject> changes)
    {
        foreach (var change in changes)
        {
            if (change.Model is null)
            {
                _applied.Remove((change.Kind, change.Id));
            }
            else
            {
                _applied[(change.Kind, change.Id)] = change.ResourceVersion;
            }
        }
    }
}

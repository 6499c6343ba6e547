using FastProxy.Manifests.Mapping;
using FastProxy.Model;

namespace FastProxy.Manifests.Loading;

/// <summary>Collects the objects of a load, refusing a second object of the same kind and name, and counting objects against the limit.</summary>
internal sealed class ManifestSetBuilder
{
    private readonly Dictionary<(ManifestObjectKind, NamespacedName), ManifestLocation> _seen = [];
    private readonly List<ManifestEntry> _entries = [];
    private int _objects;

    public ManifestSetBuilder(int maxObjects) => MaxObjects = maxObjects;

    public int MaxObjects { get; }

    public IReadOnlyList<ManifestEntry> Entries => _entries;

    /// <summary>True once the object limit was crossed: nothing more is read.</summary>
    public bool IsFull { get; private set; }

    /// <summary>Counts one more object; false (and <see cref="IsFull"/>) when it is one too many.</summary>
    public bool TryCount()
    {
        if (++_objects > MaxObjects)
        {
            IsFull = true;
            return false;
        }

        return true;
    }

    /// <summary>
    /// Records an object's identity (even one that failed or was skipped, so a later duplicate is still
    /// caught) and keeps it when it is valid. A duplicate is an error on the later one.
    /// </summary>
    public void Add(ObjectScope scope, ManifestObjectKind kind, NamespacedName id, object? model, Syntax.Node root, Syntax.Node? nameNode)
    {
        if (_seen.TryGetValue((kind, id), out var first))
        {
            scope.Error("metadata.name", nameNode ?? root, $"duplicate {KindNames.Subject(kind)} {id}; first defined at {first}");
            return;
        }

        _seen.Add((kind, id), scope.Location);
        if (model is not null && !scope.HasErrors)
        {
            _entries.Add(new ManifestEntry(kind, id, model, scope.Location, root));
        }
    }
}

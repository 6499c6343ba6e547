using FastProxy.Manifests.Syntax;

namespace FastProxy.Manifests.Mapping;

/// <summary>
/// Reads one mapping of an object with field paths: <c>Int("port")</c> at <c>spec.ports[1]</c> reports
/// errors as <c>spec.ports[1].port</c>. Opening a mapping reports its unknown fields. A reader over a
/// missing or wrong-typed mapping is empty, so the mappers read on and collect every error.
/// </summary>
internal readonly struct MapReader
{
    private readonly MappingNode? _node;

    private MapReader(ObjectScope scope, MappingNode? node, string path)
    {
        Scope = scope;
        _node = node;
        Path = path;
    }

    public ObjectScope Scope { get; }

    /// <summary>The mapping's own path; empty at the object's root.</summary>
    public string Path { get; }

    /// <summary>The mapping's node, or null when it is absent (or was not a mapping).</summary>
    public MappingNode? Node => _node;

    public bool Exists => _node is not null;

    /// <summary>Opens <paramref name="node"/> as a mapping at <paramref name="path"/>, warning about fields not in <paramref name="known"/>.</summary>
    public static MapReader Open(ObjectScope scope, Node? node, string path, KnownFields known)
    {
        switch (node)
        {
            case MappingNode mapping:
                if (!known.IsAny)
                {
                    foreach (var (key, _) in mapping.Entries)
                    {
                        if (!known.Contains(key.Value))
                        {
                            scope.Warning(Child(path, ScalarNode.Cut(key.Value)), key, $"unknown field {key.Describe()}{Suggestions.DidYouMean(key.Value, known.Read)}; ignored");
                        }
                    }
                }

                return new MapReader(scope, mapping, path);
            case null:
            case ScalarNode { IsNull: true }:
                return new MapReader(scope, null, path);
            default:
                scope.Error(path, node, $"must be a mapping, got {node.Describe()}");
                return new MapReader(scope, null, path);
        }
    }

    /// <summary>A field's path: <c>spec</c> + <c>ports</c> = <c>spec.ports</c>.</summary>
    public static string Child(string path, string key) => path.Length == 0 ? key : $"{path}.{key}";

    public string PathOf(string key) => Child(Path, key);

    /// <summary>The value node of <paramref name="key"/>; null when absent or null.</summary>
    public Node? Get(string key) => _node?.Find(key) is { } value && value is not ScalarNode { IsNull: true } ? value : null;

    /// <summary>True when <paramref name="key"/> is present at all, even as null.</summary>
    public bool Has(string key) => _node?.Find(key) is not null;

    public string? String(string key) => Values.String(Scope, Get(key), PathOf(key));

    public int? Int(string key) => Values.Int(Scope, Get(key), PathOf(key));

    public bool? Bool(string key) => Values.Bool(Scope, Get(key), PathOf(key));

    public MapReader Map(string key, KnownFields known) => Open(Scope, Get(key), PathOf(key), known);

    /// <summary>The items of a list field; reports a non-list. Each item comes with its path (<c>spec.ports[2]</c>).</summary>
    public IEnumerable<(Node Item, string Path, int Index)> List(string key)
    {
        var node = Get(key);
        var path = PathOf(key);
        if (node is null)
        {
            return [];
        }

        if (node is not SequenceNode sequence)
        {
            Scope.Error(path, node, $"must be a list, got {node.Describe()}");
            return [];
        }

        return sequence.Items.Select((item, i) => (item, $"{path}[{i}]", i));
    }

    /// <summary>The mappings of a list field, each opened with <paramref name="known"/>.</summary>
    public IEnumerable<(MapReader Item, int Index)> Maps(string key, KnownFields known)
    {
        var scope = Scope;
        return List(key).Select(entry =>
        {
            if (entry.Item is ScalarNode { IsNull: true })
            {
                // A null list item is not an absent field: it is an entry with nothing in it.
                scope.Error(entry.Path, entry.Item, "must be a mapping, got null");
            }

            return (Open(scope, entry.Item, entry.Path, known), entry.Index);
        });
    }

    /// <summary>A list of strings (<c>externalIPs</c>), each with its node and path for the caller's own checks.</summary>
    public IEnumerable<(string Value, Node Node, string Path)> Strings(string key)
    {
        foreach (var (item, path, _) in List(key))
        {
            if (Values.String(Scope, item, path) is { } value)
            {
                yield return (value, item, path);
            }
            else if (item is ScalarNode { IsNull: true })
            {
                Scope.Error(path, item, "must be a string, got null");
            }
        }
    }

    /// <summary>
    /// A string-to-string map (labels, annotations, selectors): entries are addressed
    /// <c>metadata.labels[app]</c>, as the catalog addresses annotations.
    /// </summary>
    public Dictionary<string, (string Value, Node Node)> StringMap(string key)
    {
        var map = new Dictionary<string, (string, Node)>(StringComparer.Ordinal);
        var reader = Map(key, KnownFields.Any);
        if (reader._node is null)
        {
            return map;
        }

        foreach (var (k, value) in reader._node.Entries)
        {
            var path = $"{reader.Path}[{ScalarNode.Cut(k.Value)}]";
            if (k.Type != ScalarType.String)
            {
                Scope.Error(path, k, $"keys must be strings, got {k.Describe()} (quote it: {ScalarNode.Quote(k.Value)})");
                continue;
            }

            // Kubernetes stores a null value as "": keep that reading.
            var text = value is ScalarNode { IsNull: true } ? string.Empty : Values.String(Scope, value, path);
            if (text is not null)
            {
                map[k.Value] = (text, value);
            }
        }

        return map;
    }
}

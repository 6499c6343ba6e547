using FastProxy.Manifests.Loading;
using FastProxy.Manifests.Syntax;
using FastProxy.Model;

namespace FastProxy.Manifests.Mapping;

/// <summary>
/// Turns one parsed document into objects: checks <c>apiVersion</c> against <c>kind</c>, unwraps
/// <c>List</c> and typed lists (<c>ServiceList</c>...), names each object for its diagnostics and hands
/// it to the kind's mapper. Unknown kinds are reported and skipped, never fatal.
/// </summary>
internal sealed class DocumentMapper
{
    private const string ListKind = "List";
    private const string ListSuffix = "List";

    private readonly string _defaultNamespace;
    private readonly DiagnosticBag _bag;
    private readonly ManifestSetBuilder _set;
    private bool _invalidDocument;

    public DocumentMapper(string defaultNamespace, DiagnosticBag bag, ManifestSetBuilder set)
    {
        _defaultNamespace = defaultNamespace;
        _bag = bag;
        _set = set;
    }

    /// <summary>Maps a document; false when the object limit stopped the load.</summary>
    /// <param name="file">The file's path.</param>
    /// <param name="document">The document.</param>
    /// <param name="invalid">The document's tree had errors: its objects are read (to report everything) but not loaded.</param>
    public bool Map(string file, ParsedDocument document, bool invalid)
    {
        _invalidDocument = invalid;
        var location = new ManifestLocation { FilePath = file, Document = document.Index };
        switch (document.Root)
        {
            case null:
            case ScalarNode { IsNull: true }:
                // An empty document (a trailing ---, a file of comments) holds nothing; kubectl skips it too.
                return true;
            case MappingNode root when KindOf(root) is { } kind && IsList(kind):
                return MapList(root, kind, location);
            default:
                return MapObject(document.Root, location, null);
        }
    }

    private static string? KindOf(MappingNode node) => node.Find("kind") is ScalarNode { Type: ScalarType.String } kind ? kind.Value : null;

    private static bool IsList(string kind)
        => string.Equals(kind, ListKind, StringComparison.Ordinal)
            || (kind.EndsWith(ListSuffix, StringComparison.Ordinal) && KindNames.Parse(kind[..^ListSuffix.Length]) is not null);

    private bool MapList(MappingNode node, string kind, ManifestLocation location)
    {
        var elementKind = string.Equals(kind, ListKind, StringComparison.Ordinal) ? null : KindNames.Parse(kind[..^ListSuffix.Length]);
        var items = CheckList(node, kind, elementKind, location);
        foreach (var (item, _, index) in items)
        {
            if (!MapObject(item, location with { Item = index }, elementKind))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Checks the list's own fields, reports them (before its items' diagnostics, in file order) and returns its items.</summary>
    private List<(Node Item, string Path, int Index)> CheckList(MappingNode node, string kind, ManifestObjectKind? elementKind, ManifestLocation location)
    {
        var scope = new ObjectScope(_bag, At(location, node)) { Subject = kind.ToLowerInvariant() };
        var root = MapReader.Open(scope, node, string.Empty, Schemas.List);
        var expectedVersion = elementKind is { } k ? KindNames.ApiVersion(k) : "v1";
        var apiVersion = root.String("apiVersion");
        if (apiVersion is null && root.Get("apiVersion") is null)
        {
            scope.Error("apiVersion", node, "required");
        }
        else if (apiVersion is not null && !string.Equals(apiVersion, expectedVersion, StringComparison.Ordinal))
        {
            scope.Error("apiVersion", root.Get("apiVersion"), $"must be \"{expectedVersion}\" for kind {kind}, got {ScalarNode.Quote(apiVersion)}");
        }

        root.Map("metadata", Schemas.ListMetadata);
        var items = root.List("items").ToList();
        scope.Flush();
        return items;
    }

    /// <param name="node">The object.</param>
    /// <param name="location">Its document (and list item).</param>
    /// <param name="listKind">The element kind of a typed list (items of a ServiceList may leave out kind and apiVersion).</param>
    private bool MapObject(Node node, ManifestLocation location, ManifestObjectKind? listKind)
    {
        var scope = new ObjectScope(_bag, At(location, node));
        try
        {
            return MapObject(node, listKind, scope);
        }
        finally
        {
            scope.Flush();
        }
    }

    private bool MapObject(Node node, ManifestObjectKind? listKind, ObjectScope scope)
    {
        var location = scope.Location;
        if (_invalidDocument)
        {
            scope.MarkInvalid();
        }

        if (!_set.TryCount())
        {
            scope.Error(string.Empty, node, $"more than {_set.MaxObjects} objects; the rest was not read");
            return false;
        }

        if (node is not MappingNode mapping)
        {
            scope.Error(string.Empty, node, $"an object must be a mapping with apiVersion and kind, got {node.Describe()}");
            return true;
        }

        var kindText = KindOf(mapping);
        var kind = kindText is null ? listKind : KindNames.Parse(kindText);
        var (ns, name) = ObjectMetadata.Peek(mapping, _defaultNamespace);
        // Cut like every echoed value: a megabyte-long name must not make every message about it a megabyte long.
        var displayName = name is null ? "(no name)" : $"{ScalarNode.Cut(ns)}/{ScalarNode.Cut(name)}";
        if (kindText is not null && IsList(kindText) && location.Item is not null)
        {
            scope.Error("kind", mapping.Find("kind"), "lists inside lists are not supported");
            return true;
        }

        if (kind is null)
        {
            scope.Subject = kindText is null ? null : $"{ScalarNode.Cut(kindText).ToLowerInvariant()} {displayName}";
            ReportUnknownKind(scope, mapping, kindText);
            return true;
        }

        scope.Subject = $"{KindNames.Subject(kind.Value)} {displayName}";
        var root = MapReader.Open(scope, mapping, string.Empty, RootFields(kind.Value));
        CheckKindAndVersion(root, kind.Value, listKind);
        var metadata = ObjectMetadata.Read(root, kind.Value, _defaultNamespace);
        object? model = kind switch
        {
            ManifestObjectKind.Service => ServiceMapper.Map(root, metadata),
            ManifestObjectKind.Pod => PodMapper.Map(root, metadata),
            ManifestObjectKind.EndpointSlice => EndpointSliceMapper.Map(root, metadata),
            _ => EndpointsMapper.Map(root, metadata),
        };

        if (metadata.Name.Length > 0)
        {
            _set.Add(scope, kind.Value, new NamespacedName(metadata.Namespace, metadata.Name), model, node, metadata.Reader.Get("name"));
        }

        return true;
    }

    private static void ReportUnknownKind(ObjectScope scope, MappingNode mapping, string? kindText)
    {
        var kindNode = mapping.Find("kind");
        if (kindNode is null || kindNode is ScalarNode { IsNull: true })
        {
            scope.Error("kind", mapping, "required");
        }
        else if (kindText is null)
        {
            Values.String(scope, kindNode, "kind");
        }
        else if (kindText.EndsWith(ListSuffix, StringComparison.Ordinal) && kindText.Length > ListSuffix.Length && KindNames.Parse(kindText[..^ListSuffix.Length]) is null && kindText != ListKind)
        {
            scope.Warning("kind", kindNode, $"unsupported kind {ScalarNode.Quote(kindText)}; skipped (FastProxy reads {string.Join(", ", KindNames.All)} and lists of them)");
        }
        else
        {
            scope.Warning("kind", kindNode, $"unsupported kind {ScalarNode.Quote(kindText)}{Suggestions.DidYouMean(kindText, KindNames.All)}; skipped (FastProxy reads {string.Join(", ", KindNames.All)})");
        }
    }

    private static void CheckKindAndVersion(MapReader root, ManifestObjectKind kind, ManifestObjectKind? listKind)
    {
        var kindText = root.String("kind");
        if (listKind is { } expected && kindText is not null && KindNames.Parse(kindText) != expected)
        {
            root.Scope.Error("kind", root.Get("kind"), $"must be {expected} in a {expected}List, got {ScalarNode.Quote(kindText)}");
        }

        var version = KindNames.ApiVersion(kind);
        var apiVersion = root.String("apiVersion");
        if (apiVersion is null && root.Get("apiVersion") is null && listKind is null)
        {
            root.Scope.Error("apiVersion", root.Node, "required");
        }
        else if (apiVersion is not null && !string.Equals(apiVersion, version, StringComparison.Ordinal))
        {
            root.Scope.Error("apiVersion", root.Get("apiVersion"), $"must be \"{version}\" for kind {kind}, got {ScalarNode.Quote(apiVersion)}");
        }
    }

    private static KnownFields RootFields(ManifestObjectKind kind) => kind switch
    {
        ManifestObjectKind.Service => Schemas.Service,
        ManifestObjectKind.Pod => Schemas.Pod,
        ManifestObjectKind.EndpointSlice => Schemas.EndpointSlice,
        _ => Schemas.Endpoints,
    };

    private static ManifestLocation At(ManifestLocation location, Node node)
        => node.Start.IsKnown ? location with { Line = node.Start.Line, Column = node.Start.Column } : location;
}

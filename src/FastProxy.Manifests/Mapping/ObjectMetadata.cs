using FastProxy.Manifests.Syntax;

namespace FastProxy.Manifests.Mapping;

/// <summary>An object's <c>metadata</c>: identity, labels and annotations (with FastProxy's checked).</summary>
internal sealed class ObjectMetadata
{
    private ObjectMetadata(MapReader reader, string name, string @namespace, Dictionary<string, (string Value, Node Node)> labels, Dictionary<string, (string Value, Node Node)> annotations)
    {
        Reader = reader;
        Name = name;
        Namespace = @namespace;
        Labels = labels;
        Annotations = annotations;
    }

    /// <summary>The metadata mapping, for kind-specific fields (a pod's <c>deletionTimestamp</c>).</summary>
    public MapReader Reader { get; }

    /// <summary>The name; empty when missing (an error was reported).</summary>
    public string Name { get; }

    public string Namespace { get; }

    public Dictionary<string, (string Value, Node Node)> Labels { get; }

    public Dictionary<string, (string Value, Node Node)> Annotations { get; }

    public static string LabelPath(string key) => $"metadata.labels[{key}]";

    public static string AnnotationPath(string key) => $"metadata.annotations[{key}]";

    public static ObjectMetadata Read(MapReader root, ManifestObjectKind kind, string defaultNamespace)
    {
        var metadata = root.Map("metadata", Schemas.Metadata);
        if (!metadata.Exists)
        {
            root.Scope.Error("metadata", root.Node, "required");
        }

        var name = metadata.String("name");
        if (metadata.Exists && string.IsNullOrEmpty(name))
        {
            root.Scope.Error("metadata.name", metadata.Node, "required");
        }

        var @namespace = metadata.String("namespace");
        var annotations = metadata.StringMap("annotations");
        AnnotationRules.Check(root.Scope, kind, annotations, "metadata.annotations");
        return new ObjectMetadata(metadata, name ?? string.Empty, string.IsNullOrEmpty(@namespace) ? defaultNamespace : @namespace, metadata.StringMap("labels"), annotations);
    }

    /// <summary>Reads namespace and name without reporting anything, to name the object in its diagnostics before they are read properly.</summary>
    public static (string Namespace, string? Name) Peek(MappingNode root, string defaultNamespace)
    {
        var metadata = root.Find("metadata") as MappingNode;
        var name = metadata?.Find("name") is ScalarNode { Type: ScalarType.String } n && n.Value.Length > 0 ? n.Value : null;
        var ns = metadata?.Find("namespace") is ScalarNode { Type: ScalarType.String } s && s.Value.Length > 0 ? s.Value : defaultNamespace;
        return (ns, name);
    }
}

using FastProxy.Manifests.Syntax;

namespace FastProxy.Manifests.Mapping;

/// <summary>
/// Reads one object's <c>fastproxy.io/</c> annotations by kind of value. A value that does not parse is an
/// error naming its annotation and null is returned, so the setting keeps its default; ranges are the
/// catalog's to check (one rule for every source of objects).
/// </summary>
internal sealed class AnnotationReader(Dictionary<string, (string Value, Node Node)> annotations, ObjectScope scope)
{
    public bool TryGet(string key, out string value, out Node node)
    {
        if (annotations.TryGetValue(key, out var a))
        {
            (value, node) = (a.Value, a.Node);
            return true;
        }

        (value, node) = (string.Empty, null!);
        return false;
    }

    public void Error(string key, Node node, string problem) => scope.Error(ObjectMetadata.AnnotationPath(key), node, problem);

    public string? String(string key) => annotations.TryGetValue(key, out var a) ? a.Value.Trim() : null;

    public int? Int(string key)
        => annotations.TryGetValue(key, out var a) ? Values.IntFromString(scope, a.Node, a.Value, ObjectMetadata.AnnotationPath(key)) : null;

    public TimeSpan? Duration(string key)
    {
        if (!annotations.TryGetValue(key, out var a))
        {
            return null;
        }

        if (Durations.TryParse(a.Value, out var duration))
        {
            return duration;
        }

        Error(key, a.Node, $"must be a duration such as \"500ms\", \"30s\", \"5m\", \"1h30m\" or a number of seconds, got {ScalarNode.Quote(a.Value)}");
        return null;
    }

    public T? Choice<T>(string key, (string Name, T Value)[] choices)
        where T : struct
    {
        if (!annotations.TryGetValue(key, out var a))
        {
            return null;
        }

        var text = a.Value.Trim();
        foreach (var (name, value) in choices)
        {
            if (string.Equals(name, text, StringComparison.OrdinalIgnoreCase))
            {
                return value;
            }
        }

        Error(key, a.Node, $"must be one of {string.Join(", ", choices.Select(static c => c.Name))}, got {ScalarNode.Quote(a.Value)}");
        return null;
    }
}

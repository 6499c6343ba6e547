using System.Globalization;
using FastProxy.Manifests.Syntax;
using FastProxy.Model;

namespace FastProxy.Manifests.Mapping;

/// <summary>
/// A Service's <c>fastproxy.io/</c> connection annotations to its <see cref="ConnectionPolicy"/>. Values that do
/// not parse are errors naming the annotation; ranges are the catalog's to check (one rule for every source).
/// </summary>
internal static class ConnectionPolicyAnnotations
{
    private static readonly (string Name, DrainPolicy Value)[] DrainPolicies = [("keep", DrainPolicy.Keep), ("drain", DrainPolicy.Drain), ("close", DrainPolicy.Close)];
    private static readonly (string Name, LimitAction Value)[] LimitActions = [("reject", LimitAction.Reject), ("queue", LimitAction.Queue)];
    private static readonly (string Name, ProxyProtocolVersion Value)[] Versions = [("none", ProxyProtocolVersion.None), ("v1", ProxyProtocolVersion.V1), ("v2", ProxyProtocolVersion.V2)];
    private static readonly (string Name, bool Value)[] Booleans = [("true", true), ("false", false)];

    public static ConnectionPolicy Read(ObjectScope scope, ObjectMetadata metadata)
    {
        var policy = ConnectionPolicy.Default;
        var annotations = metadata.Annotations;
        if (!annotations.Keys.Any(static k => k.StartsWith(ManifestAnnotations.Prefix, StringComparison.Ordinal)))
        {
            return policy;
        }

        return policy with
        {
            Drain = Choice(scope, annotations, ManifestAnnotations.DrainPolicy, DrainPolicies) ?? policy.Drain,
            DrainTimeout = Duration(scope, annotations, ManifestAnnotations.DrainTimeout) ?? policy.DrainTimeout,
            MaxConnections = Int(scope, annotations, ManifestAnnotations.MaxConnections) ?? policy.MaxConnections,
            MaxConnectionsPerEndpoint = Int(scope, annotations, ManifestAnnotations.MaxConnectionsPerEndpoint) ?? policy.MaxConnectionsPerEndpoint,
            LimitAction = Choice(scope, annotations, ManifestAnnotations.LimitAction, LimitActions) ?? policy.LimitAction,
            QueueTimeout = Duration(scope, annotations, ManifestAnnotations.QueueTimeout) ?? policy.QueueTimeout,
            QueueLimit = Int(scope, annotations, ManifestAnnotations.QueueLimit) ?? policy.QueueLimit,
            ConnectTimeout = Duration(scope, annotations, ManifestAnnotations.ConnectTimeout) ?? policy.ConnectTimeout,
            IdleTimeout = Duration(scope, annotations, ManifestAnnotations.IdleTimeout) ?? policy.IdleTimeout,
            SendProxyProtocol = Choice(scope, annotations, ManifestAnnotations.ProxyProtocol, Versions) ?? policy.SendProxyProtocol,
            AcceptProxyProtocol = Choice(scope, annotations, ManifestAnnotations.AcceptProxyProtocol, Booleans) ?? policy.AcceptProxyProtocol,
        };
    }

    private static int? Int(ObjectScope scope, Dictionary<string, (string Value, Node Node)> annotations, string key)
        => annotations.TryGetValue(key, out var a) ? Values.IntFromString(scope, a.Node, a.Value, ObjectMetadata.AnnotationPath(key)) : null;

    private static T? Choice<T>(ObjectScope scope, Dictionary<string, (string Value, Node Node)> annotations, string key, (string Name, T Value)[] choices)
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

        scope.Error(ObjectMetadata.AnnotationPath(key), a.Node, $"must be one of {string.Join(", ", choices.Select(static c => c.Name))}, got {ScalarNode.Quote(a.Value)}");
        return null;
    }

    private static TimeSpan? Duration(ObjectScope scope, Dictionary<string, (string Value, Node Node)> annotations, string key)
    {
        if (!annotations.TryGetValue(key, out var a))
        {
            return null;
        }

        if (TryParseDuration(a.Value.Trim(), out var duration))
        {
            return duration;
        }

        scope.Error(ObjectMetadata.AnnotationPath(key), a.Node, $"must be a duration such as \"500ms\", \"30s\", \"5m\", \"1h30m\" or a number of seconds, got {ScalarNode.Quote(a.Value)}");
        return null;
    }

    /// <summary>Go's duration syntax (the one Kubernetes tools use), units ms, s, m and h; a bare number is seconds.</summary>
    internal static bool TryParseDuration(string text, out TimeSpan duration)
    {
        duration = TimeSpan.Zero;
        if (text.Length == 0)
        {
            return false;
        }

        if (long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds))
        {
            duration = TimeSpan.FromSeconds(Math.Min(seconds, (long)TimeSpan.MaxValue.TotalSeconds));
            return true;
        }

        var rest = text.AsSpan();
        var total = 0.0;
        while (!rest.IsEmpty)
        {
            var digits = 0;
            while (digits < rest.Length && (char.IsAsciiDigit(rest[digits]) || rest[digits] == '.'))
            {
                digits++;
            }

            if (digits == 0 || !double.TryParse(rest[..digits], NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var number))
            {
                return false;
            }

            rest = rest[digits..];
            var unit = rest.StartsWith("ms") ? 0.001 : rest.StartsWith("s") ? 1 : rest.StartsWith("m") ? 60 : rest.StartsWith("h") ? 3600 : 0;
            if (unit == 0)
            {
                return false;
            }

            rest = rest[(unit == 0.001 ? 2 : 1)..];
            total += number * unit;
        }

        if (total > TimeSpan.MaxValue.TotalSeconds / 2)
        {
            return false;
        }

        duration = TimeSpan.FromSeconds(total);
        return true;
    }
}

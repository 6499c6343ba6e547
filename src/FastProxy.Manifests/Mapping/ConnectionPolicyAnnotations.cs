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

        var reader = new AnnotationReader(annotations, scope);
        return policy with
        {
            Drain = reader.Choice(ManifestAnnotations.DrainPolicy, DrainPolicies) ?? policy.Drain,
            DrainTimeout = reader.Duration(ManifestAnnotations.DrainTimeout) ?? policy.DrainTimeout,
            MaxConnections = reader.Int(ManifestAnnotations.MaxConnections) ?? policy.MaxConnections,
            MaxConnectionsPerEndpoint = reader.Int(ManifestAnnotations.MaxConnectionsPerEndpoint) ?? policy.MaxConnectionsPerEndpoint,
            LimitAction = reader.Choice(ManifestAnnotations.LimitAction, LimitActions) ?? policy.LimitAction,
            QueueTimeout = reader.Duration(ManifestAnnotations.QueueTimeout) ?? policy.QueueTimeout,
            QueueLimit = reader.Int(ManifestAnnotations.QueueLimit) ?? policy.QueueLimit,
            ConnectTimeout = reader.Duration(ManifestAnnotations.ConnectTimeout) ?? policy.ConnectTimeout,
            IdleTimeout = reader.Duration(ManifestAnnotations.IdleTimeout) ?? policy.IdleTimeout,
            SendProxyProtocol = reader.Choice(ManifestAnnotations.ProxyProtocol, Versions) ?? policy.SendProxyProtocol,
            AcceptProxyProtocol = reader.Choice(ManifestAnnotations.AcceptProxyProtocol, Booleans) ?? policy.AcceptProxyProtocol,
        };
    }
}

using FastProxy.Manifests.Syntax;

namespace FastProxy.Manifests.Mapping;

/// <summary>Which <c>fastproxy.io/</c> annotation applies to which kind; anything else under the prefix is reported.</summary>
internal static class AnnotationRules
{
    private static readonly (string Key, ManifestObjectKind Kind)[] Known =
    [
        (ManifestAnnotations.Balancer, ManifestObjectKind.Service),
        (ManifestAnnotations.Weight, ManifestObjectKind.Pod),
        (ManifestAnnotations.HealthCheck, ManifestObjectKind.Service),
        (ManifestAnnotations.HealthCheckPath, ManifestObjectKind.Service),
        (ManifestAnnotations.HealthCheckPort, ManifestObjectKind.Service),
        (ManifestAnnotations.HealthCheckInterval, ManifestObjectKind.Service),
        (ManifestAnnotations.HealthCheckTimeout, ManifestObjectKind.Service),
        (ManifestAnnotations.HealthCheckHealthyThreshold, ManifestObjectKind.Service),
        (ManifestAnnotations.HealthCheckUnhealthyThreshold, ManifestObjectKind.Service),
        (ManifestAnnotations.HealthCheckJitterPercent, ManifestObjectKind.Service),
        (ManifestAnnotations.HealthCheckExpectedStatuses, ManifestObjectKind.Service),
        (ManifestAnnotations.OutlierConsecutiveFailures, ManifestObjectKind.Service),
        (ManifestAnnotations.OutlierBaseEjectionTime, ManifestObjectKind.Service),
        (ManifestAnnotations.OutlierMaxEjectionTime, ManifestObjectKind.Service),
        (ManifestAnnotations.PanicThreshold, ManifestObjectKind.Service),
        (ManifestAnnotations.DrainPolicy, ManifestObjectKind.Service),
        (ManifestAnnotations.DrainTimeout, ManifestObjectKind.Service),
        (ManifestAnnotations.MaxConnections, ManifestObjectKind.Service),
        (ManifestAnnotations.MaxConnectionsPerEndpoint, ManifestObjectKind.Service),
        (ManifestAnnotations.LimitAction, ManifestObjectKind.Service),
        (ManifestAnnotations.QueueTimeout, ManifestObjectKind.Service),
        (ManifestAnnotations.QueueLimit, ManifestObjectKind.Service),
        (ManifestAnnotations.ConnectTimeout, ManifestObjectKind.Service),
        (ManifestAnnotations.IdleTimeout, ManifestObjectKind.Service),
        (ManifestAnnotations.ProxyProtocol, ManifestObjectKind.Service),
        (ManifestAnnotations.AcceptProxyProtocol, ManifestObjectKind.Service),
        (ManifestAnnotations.UdpSessionTimeout, ManifestObjectKind.Service),
        (ManifestAnnotations.UdpMaxSessions, ManifestObjectKind.Service),
    ];

    public static void Check(ObjectScope scope, ManifestObjectKind kind, Dictionary<string, (string Value, Node Node)> annotations, string path)
    {
        foreach (var (key, (_, node)) in annotations)
        {
            if (!key.StartsWith(ManifestAnnotations.Prefix, StringComparison.Ordinal))
            {
                continue;
            }

            var field = $"{path}[{ScalarNode.Cut(key)}]";
            var match = Array.FindIndex(Known, k => string.Equals(k.Key, key, StringComparison.Ordinal));
            if (match < 0)
            {
                scope.Warning(field, node, $"unknown FastProxy annotation{Suggestions.DidYouMean(key, Known.Select(static k => k.Key))}; ignored");
            }
            else if (Known[match].Kind != kind)
            {
                scope.Warning(field, node, $"applies to {KindNames.Plural(Known[match].Kind)} only; ignored");
            }
        }
    }
}

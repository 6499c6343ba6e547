using System.Globalization;
using FastProxy.Manifests.Syntax;
using FastProxy.Model;

namespace FastProxy.Manifests.Mapping;

/// <summary>
/// The health annotations of a Service to its <see cref="Service.HealthCheck"/>, <see cref="Service.OutlierDetection"/>
/// and <see cref="Service.PanicThreshold"/>. Only the form of each value is checked here (an integer, a
/// duration, a status range); ranges are the catalog's, which names the same annotation.
/// </summary>
internal static class HealthAnnotations
{
    private static readonly string[] CheckSettings =
    [
        ManifestAnnotations.HealthCheckPath, ManifestAnnotations.HealthCheckPort, ManifestAnnotations.HealthCheckInterval,
        ManifestAnnotations.HealthCheckTimeout, ManifestAnnotations.HealthCheckHealthyThreshold, ManifestAnnotations.HealthCheckUnhealthyThreshold,
        ManifestAnnotations.HealthCheckJitterPercent, ManifestAnnotations.HealthCheckExpectedStatuses,
    ];

    private static readonly string[] OutlierSettings =
    [
        ManifestAnnotations.OutlierConsecutiveFailures, ManifestAnnotations.OutlierBaseEjectionTime, ManifestAnnotations.OutlierMaxEjectionTime,
    ];

    public static Service Apply(Service service, ObjectMetadata metadata, ObjectScope scope)
    {
        var annotations = metadata.Annotations;
        var reader = new AnnotationReader(annotations, scope);
        if (annotations.TryGetValue(ManifestAnnotations.HealthCheck, out var protocol))
        {
            var check = new HealthCheckPolicy();
            switch (protocol.Value.Trim().ToUpperInvariant())
            {
                case "TCP": break;
                case "HTTP": check = check with { Protocol = HealthCheckProtocol.Http }; break;
                default:
                    scope.Error(ObjectMetadata.AnnotationPath(ManifestAnnotations.HealthCheck), protocol.Node, $"must be \"tcp\" or \"http\", got {ScalarNode.Quote(protocol.Value)}");
                    break;
            }

            check = check with
            {
                Path = reader.String(ManifestAnnotations.HealthCheckPath) ?? check.Path,
                Port = reader.Int(ManifestAnnotations.HealthCheckPort) ?? check.Port,
                Interval = reader.Duration(ManifestAnnotations.HealthCheckInterval) ?? check.Interval,
                Timeout = reader.Duration(ManifestAnnotations.HealthCheckTimeout) ?? check.Timeout,
                HealthyThreshold = reader.Int(ManifestAnnotations.HealthCheckHealthyThreshold) ?? check.HealthyThreshold,
                UnhealthyThreshold = reader.Int(ManifestAnnotations.HealthCheckUnhealthyThreshold) ?? check.UnhealthyThreshold,
                JitterPercent = reader.Int(ManifestAnnotations.HealthCheckJitterPercent) ?? check.JitterPercent,
            };
            if (StatusRange(reader, ManifestAnnotations.HealthCheckExpectedStatuses) is { } statuses)
            {
                check = check with { ExpectedStatusMin = statuses.Min, ExpectedStatusMax = statuses.Max };
            }

            service = service with { HealthCheck = check };
        }
        else
        {
            foreach (var key in CheckSettings.Where(annotations.ContainsKey))
            {
                // A setting without the switch is a half-written config: say so rather than check nothing.
                scope.Error(ObjectMetadata.AnnotationPath(key), annotations[key].Node, $"needs {ManifestAnnotations.HealthCheck} (tcp or http) to take effect");
            }
        }

        if (OutlierSettings.Any(annotations.ContainsKey))
        {
            var outlier = new OutlierDetectionPolicy();
            service = service with
            {
                OutlierDetection = outlier with
                {
                    ConsecutiveFailures = reader.Int(ManifestAnnotations.OutlierConsecutiveFailures) ?? outlier.ConsecutiveFailures,
                    BaseEjectionTime = reader.Duration(ManifestAnnotations.OutlierBaseEjectionTime) ?? outlier.BaseEjectionTime,
                    MaxEjectionTime = reader.Duration(ManifestAnnotations.OutlierMaxEjectionTime) ?? outlier.MaxEjectionTime,
                },
            };
        }

        if (reader.Int(ManifestAnnotations.PanicThreshold) is { } panic)
        {
            service = service with { PanicThreshold = panic };
        }

        return service;
    }

    private static (int Min, int Max)? StatusRange(AnnotationReader reader, string key)
    {
        if (!reader.TryGet(key, out var text, out var node))
        {
            return null;
        }

        var parts = text.Trim().Split('-');
        if (parts.Length is 1 or 2
            && int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var min)
            && (parts.Length == 1 || int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out _)))
        {
            return (min, parts.Length == 1 ? min : int.Parse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture));
        }

        reader.Error(key, node, $"must be a status (\"200\") or a range (\"200-399\"), got {ScalarNode.Quote(text)}");
        return null;
    }
}

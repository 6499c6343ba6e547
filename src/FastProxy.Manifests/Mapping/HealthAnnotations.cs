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
        var reader = new Reader(annotations, scope);
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
            if (reader.StatusRange(ManifestAnnotations.HealthCheckExpectedStatuses) is { } statuses)
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

    /// <summary>
    /// A duration as Kubernetes and Envoy write them (Go's <c>time.ParseDuration</c> units <c>ms</c>, <c>s</c>,
    /// <c>m</c>, <c>h</c>, combinable: <c>1m30s</c>, fractions allowed: <c>1.5s</c>); null when malformed.
    /// </summary>
    internal static TimeSpan? ParseDuration(string text)
    {
        var rest = text.Trim().AsSpan();
        if (rest.IsEmpty)
        {
            return null;
        }

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
                return null;
            }

            rest = rest[digits..];
            var (unit, length) = rest.StartsWith("ms", StringComparison.Ordinal) ? (1.0, 2)
                : rest.StartsWith("s", StringComparison.Ordinal) ? (1000.0, 1)
                : rest.StartsWith("m", StringComparison.Ordinal) ? (60_000.0, 1)
                : rest.StartsWith("h", StringComparison.Ordinal) ? (3_600_000.0, 1)
                : (0, 0);
            if (length == 0)
            {
                return null;
            }

            rest = rest[length..];
            total += number * unit;
        }

        // Beyond what TimeSpan holds is far beyond any limit the catalog accepts: report the limit there.
        return total > TimeSpan.MaxValue.TotalMilliseconds / 2 ? TimeSpan.MaxValue / 2 : TimeSpan.FromMilliseconds(total);
    }

    private sealed class Reader(Dictionary<string, (string Value, Node Node)> annotations, ObjectScope scope)
    {
        public string? String(string key) => annotations.TryGetValue(key, out var a) ? a.Value.Trim() : null;

        public int? Int(string key)
            => annotations.TryGetValue(key, out var a) ? Values.IntFromString(scope, a.Node, a.Value, ObjectMetadata.AnnotationPath(key)) : null;

        public TimeSpan? Duration(string key)
        {
            if (!annotations.TryGetValue(key, out var a))
            {
                return null;
            }

            var value = ParseDuration(a.Value);
            if (value is null)
            {
                scope.Error(ObjectMetadata.AnnotationPath(key), a.Node, $"must be a duration such as \"5s\", \"500ms\" or \"1m30s\", got {ScalarNode.Quote(a.Value)}");
            }

            return value;
        }

        public (int Min, int Max)? StatusRange(string key)
        {
            if (!annotations.TryGetValue(key, out var a))
            {
                return null;
            }

            var parts = a.Value.Trim().Split('-');
            if (parts.Length is 1 or 2
                && int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var min)
                && (parts.Length == 1 || int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out _)))
            {
                return (min, parts.Length == 1 ? min : int.Parse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture));
            }

            scope.Error(ObjectMetadata.AnnotationPath(key), a.Node, $"must be a status (\"200\") or a range (\"200-399\"), got {ScalarNode.Quote(a.Value)}");
            return null;
        }
    }
}

using FastProxy.Model;

namespace FastProxy.Catalog;

// Health settings: FastProxy's own (annotations, named by their annotation) and Kubernetes' healthCheckNodePort.
internal static partial class ObjectValidator
{
    private const int MaxThreshold = 100;
    private const int MaxConsecutiveFailures = 1000;
    private const int MaxHealthPathLength = 1024;
    private static readonly TimeSpan MinHealthInterval = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan MaxHealthTime = TimeSpan.FromDays(1);

    /// <summary>The field path of a FastProxy annotation, as manifests name it.</summary>
    internal static string Annotation(string name) => $"metadata.annotations[fastproxy.io/{name}]";

    private static void ValidateHealth(Service service, Report report)
    {
        if (service.HealthCheck is { } check)
        {
            report.Check(Annotation("health-check"), EnumValue(check.Protocol));
            if (check.Protocol == HealthCheckProtocol.Http)
            {
                report.Check(Annotation("health-check-path"), HealthPath(check.Path));
            }

            if (check.Port != 0)
            {
                report.Check(Annotation("health-check-port"), PortNumber(check.Port));
            }

            report.Check(Annotation("health-check-interval"), Within(check.Interval, MinHealthInterval, MaxHealthTime));
            report.Check(Annotation("health-check-timeout"), check.Timeout <= TimeSpan.Zero || check.Timeout > check.Interval
                ? $"must be more than 0 and at most the interval ({Seconds(check.Interval)}), got {Seconds(check.Timeout)}"
                : null);
            report.Check(Annotation("health-check-healthy-threshold"), Between(check.HealthyThreshold, 1, MaxThreshold));
            report.Check(Annotation("health-check-unhealthy-threshold"), Between(check.UnhealthyThreshold, 1, MaxThreshold));
            report.Check(Annotation("health-check-jitter-percent"), Between(check.JitterPercent, 0, 100));
            if (check.ExpectedStatusMin is < 100 or > 599 || check.ExpectedStatusMax is < 100 or > 599 || check.ExpectedStatusMin > check.ExpectedStatusMax)
            {
                report.Add(Annotation("health-check-expected-statuses"), $"must be a status range within 100-599 with the lower first, got {check.ExpectedStatusMin}-{check.ExpectedStatusMax}");
            }
        }

        if (service.OutlierDetection is { } outlier)
        {
            report.Check(Annotation("outlier-consecutive-failures"), Between(outlier.ConsecutiveFailures, 1, MaxConsecutiveFailures));
            var baseProblem = outlier.BaseEjectionTime <= TimeSpan.Zero || outlier.BaseEjectionTime > MaxHealthTime
                ? $"must be more than 0 and at most 1 day, got {Seconds(outlier.BaseEjectionTime)}"
                : null;
            report.Check(Annotation("outlier-base-ejection-time"), baseProblem);
            if (baseProblem is null)
            {
                report.Check(Annotation("outlier-max-ejection-time"), Within(outlier.MaxEjectionTime, outlier.BaseEjectionTime, MaxHealthTime, "the base ejection time"));
            }
        }

        report.Check(Annotation("panic-threshold"), Between(service.PanicThreshold, 0, 100));

        if (service.HealthCheckNodePort != 0)
        {
            // ValidateService: the port exists only where an external load balancer must learn which nodes have local endpoints.
            if (service.Type != ServiceType.LoadBalancer || service.ExternalTrafficPolicy != TrafficPolicy.Local)
            {
                report.Add("spec.healthCheckNodePort", "may only be set when `type` is 'LoadBalancer' and `externalTrafficPolicy` is 'Local'");
            }
            else
            {
                report.Check("spec.healthCheckNodePort", PortNumber(service.HealthCheckNodePort));
            }
        }
    }

    private static string? HealthPath(string? path)
    {
        if (string.IsNullOrEmpty(path))
        {
            return "required for an HTTP check";
        }

        if (path[0] != '/' || path.Length > MaxHealthPathLength || path.Any(static c => c <= ' ' || c == '\u007f' || c == '#'))
        {
            return $"must start with '/', hold no spaces, control characters or '#', and be at most {MaxHealthPathLength} characters, got \"{path}\"";
        }

        return Uri.TryCreate("http://127.0.0.1" + path, UriKind.Absolute, out _) ? null : $"is not a valid URL path: \"{path}\"";
    }

    private static string? Between(int value, int min, int max) => value < min || value > max ? $"must be {min}-{max}, got {value}" : null;

    private static string? Within(TimeSpan value, TimeSpan min, TimeSpan max, string? minName = null)
        => value < min || value > max
            ? $"must be at least {(minName is null ? Seconds(min) : $"{minName} ({Seconds(min)})")} and at most {Seconds(max)}, got {Seconds(value)}"
            : null;

    private static string Seconds(TimeSpan value) => value.TotalDays >= 1 && value.Ticks % TimeSpan.TicksPerDay == 0 ? $"{value.TotalDays:0.###} day(s)" : $"{value.TotalSeconds:0.###}s";
}

using System.Buffers;
using FastProxy.Balancing;
using FastProxy.Model;

namespace FastProxy.Catalog;

/// <summary>Field-by-field checks of one service or pod, with Kubernetes' field paths and wording.</summary>
internal static class ObjectValidator
{
    private const int MaxLabelLength = 63;
    private const int MinWeight = 1;
    private const int MaxWeight = 10_000;

    // Kubernetes' limit (ValidateClientIPAffinityConfig): one day.
    private static readonly TimeSpan MaxSessionAffinityTimeout = TimeSpan.FromDays(1);
    private static readonly SearchValues<char> LabelChars = SearchValues.Create("abcdefghijklmnopqrstuvwxyz0123456789-");

    public static void ValidateService(Service service, BalancingStrategyRegistry strategies, List<ValidationError> errors)
    {
        var subject = $"service {service.Namespace}/{service.Name}";
        ValidateDnsLabel(subject, "metadata.namespace", service.Namespace, errors);
        ValidateDnsLabel(subject, "metadata.name", service.Name, errors);
        if (service.Name.Length > 0 && !char.IsAsciiLetterLower(service.Name[0]))
        {
            // DNS-1035: a service name becomes a DNS label and an environment variable prefix.
            errors.Add(new(subject, "metadata.name", $"must start with a lower-case letter, got \"{service.Name}\""));
        }

        if (service.Ports.IsDefaultOrEmpty && !service.Headless && service.Type != ServiceType.ExternalName)
        {
            errors.Add(new(subject, "spec.ports", "must have at least one port"));
        }
        else if (!service.Ports.IsDefaultOrEmpty)
        {
            ValidatePorts(subject, service.Ports, errors);
        }

        if (!strategies.TryGet(service.Balancer ?? string.Empty, out _))
        {
            errors.Add(new(subject, "metadata.annotations[fastproxy.io/balancer]", $"unknown balancing strategy \"{service.Balancer}\"; known: {string.Join(", ", strategies.Names)}"));
        }

        if (service.SessionAffinity is not (SessionAffinity.None or SessionAffinity.ClientIP))
        {
            errors.Add(new(subject, "spec.sessionAffinity", $"unsupported value \"{service.SessionAffinity}\"; supported: None, ClientIP"));
        }

        if (service.SessionAffinityTimeout <= TimeSpan.Zero || service.SessionAffinityTimeout > MaxSessionAffinityTimeout)
        {
            errors.Add(new(subject, "spec.sessionAffinityConfig.clientIP.timeoutSeconds", $"must be greater than 0 and at most {MaxSessionAffinityTimeout.TotalSeconds:0}, got {service.SessionAffinityTimeout.TotalSeconds:0.###}"));
        }
    }

    public static void ValidatePod(Pod pod, List<ValidationError> errors)
    {
        var subject = $"pod {pod.Namespace}/{pod.Name}";
        ValidateDnsLabel(subject, "metadata.namespace", pod.Namespace, errors);
        if (string.IsNullOrEmpty(pod.Name))
        {
            errors.Add(new(subject, "metadata.name", "required"));
        }

        if (pod.Address is null)
        {
            errors.Add(new(subject, "status.podIP", "required"));
        }

        if (pod.Weight is < MinWeight or > MaxWeight)
        {
            errors.Add(new(subject, "metadata.annotations[fastproxy.io/weight]", $"must be {MinWeight}-{MaxWeight}, got {pod.Weight}"));
        }

        if (pod.Labels is null)
        {
            errors.Add(new(subject, "metadata.labels", "must not be null"));
        }
    }

    public static void ValidateEndpointSlice(EndpointSlice slice, List<ValidationError> errors)
    {
        var subject = $"endpointslice {slice.Namespace}/{slice.Name}";
        ValidateDnsLabel(subject, "metadata.namespace", slice.Namespace, errors);
    }

    public static void ValidateEndpoints(Endpoints endpoints, List<ValidationError> errors)
    {
        var subject = $"endpoints {endpoints.Namespace}/{endpoints.Name}";
        ValidateDnsLabel(subject, "metadata.namespace", endpoints.Namespace, errors);
    }

    private static void ValidatePorts(string subject, IReadOnlyList<ServicePort> ports, List<ValidationError> errors)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        var numbers = new HashSet<(int, ServiceProtocol)>();
        for (var i = 0; i < ports.Count; i++)
        {
            var port = ports[i];
            var path = $"spec.ports[{i}]";
            if (port is null)
            {
                errors.Add(new(subject, path, "must not be null"));
                continue;
            }

            if (port.Port is < 1 or > 65535)
            {
                errors.Add(new(subject, $"{path}.port", $"must be 1-65535, got {port.Port}"));
            }

            if (port.TargetPort is < 0 or > 65535)
            {
                errors.Add(new(subject, $"{path}.targetPort", $"must be 1-65535, got {port.TargetPort}"));
            }

            if (ports.Count > 1 && string.IsNullOrEmpty(port.Name))
            {
                errors.Add(new(subject, $"{path}.name", "required when more than one port"));
            }
            else if (!string.IsNullOrEmpty(port.Name) && !names.Add(port.Name))
            {
                errors.Add(new(subject, $"{path}.name", $"duplicate value \"{port.Name}\""));
            }

            if (!numbers.Add((port.Port, port.Protocol)))
            {
                errors.Add(new(subject, $"{path}.port", $"duplicate port {port.Port}/{port.Protocol}"));
            }
        }
    }

    private static void ValidateDnsLabel(string subject, string field, string? value, List<ValidationError> errors)
    {
        if (string.IsNullOrEmpty(value))
        {
            errors.Add(new(subject, field, "required"));
        }
        else if (value.Length > MaxLabelLength)
        {
            errors.Add(new(subject, field, $"must be no more than {MaxLabelLength} characters, got {value.Length}"));
        }
        else if (value.AsSpan().ContainsAnyExcept(LabelChars) || value[0] == '-' || value[^1] == '-')
        {
            errors.Add(new(subject, field, $"must consist of lower case alphanumeric characters or '-', and start and end with an alphanumeric character, got \"{value}\""));
        }
    }
}

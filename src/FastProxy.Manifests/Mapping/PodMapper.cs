using System.Collections.Frozen;
using System.Collections.Immutable;
using System.Globalization;
using System.Net;
using FastProxy.Manifests.Syntax;
using FastProxy.Model;

namespace FastProxy.Manifests.Mapping;

/// <summary>
/// A v1 Pod to a <see cref="Pod"/>. Only running pods are endpoints: a pod without <c>status.podIP</c>
/// (pending) or in a terminal phase is skipped with a warning, as the EndpointSlice controller skips it.
/// </summary>
internal static class PodMapper
{
    /// <summary>The well-known zone label; Kubernetes puts it on nodes, manifests for FastProxy put it on the pod.</summary>
    public const string ZoneLabel = "topology.kubernetes.io/zone";

    public static Pod? Map(MapReader root, ObjectMetadata metadata)
    {
        var spec = root.Map("spec", Schemas.PodSpec);
        var status = root.Map("status", Schemas.PodStatus);
        var ports = ReadContainerPorts(spec);
        var weight = metadata.Annotations.TryGetValue(ManifestAnnotations.Weight, out var w)
            ? Values.IntFromString(root.Scope, w.Node, w.Value, ObjectMetadata.AnnotationPath(ManifestAnnotations.Weight))
            : null;
        var terminating = ReadTerminating(metadata.Reader);
        var ready = ReadReady(status);
        var address = ReadAddress(status);
        var phase = status.String("phase");
        var labels = metadata.Labels.ToFrozenDictionary(static p => p.Key, static p => p.Value.Value, StringComparer.Ordinal);
        var nodeName = spec.String("nodeName");
        var hostname = spec.String("hostname");
        var subdomain = spec.String("subdomain");

        if (root.Scope.HasErrors)
        {
            return null;
        }

        if (phase is "Succeeded" or "Failed")
        {
            root.Scope.Warning("status.phase", status.Get("phase"), $"the pod has finished ({phase}); not an endpoint, skipped");
            return null;
        }

        if (address is null)
        {
            root.Scope.Warning("status.podIP", status.Node ?? root.Node, "no pod IP (the pod is pending); not an endpoint, skipped");
            return null;
        }

        return new Pod
        {
            Namespace = metadata.Namespace,
            Name = metadata.Name,
            Labels = labels,
            Address = address,
            Ready = ready,
            Terminating = terminating,
            ContainerPorts = ports,
            NodeName = nodeName,
            Zone = labels.GetValueOrDefault(ZoneLabel),
            Hostname = hostname,
            Subdomain = subdomain,
            Weight = weight ?? 1,
        };
    }

    private static ImmutableArray<ContainerPort> ReadContainerPorts(MapReader spec)
    {
        var ports = ImmutableArray.CreateBuilder<ContainerPort>();
        foreach (var (container, _) in spec.Maps("containers", Schemas.Container))
        {
            foreach (var (port, _) in container.Maps("ports", Schemas.ContainerPort))
            {
                var number = port.Int("containerPort");
                if (port.Exists && port.Get("containerPort") is null)
                {
                    port.Scope.Error(port.PathOf("containerPort"), port.Node, "required");
                }
                else if (number is { } n)
                {
                    Values.CheckPort(port.Scope, port.Get("containerPort"), port.PathOf("containerPort"), n);
                }

                var name = port.String("name") ?? string.Empty;
                if (name.Length > 0 && Values.PortNameProblem(name) is { } problem)
                {
                    port.Scope.Error(port.PathOf("name"), port.Get("name"), $"{ScalarNode.Quote(name)} {problem}");
                }

                ports.Add(new ContainerPort { Name = name, Port = number ?? 0, Protocol = Choices.Protocol(port) });
            }
        }

        return ports.ToImmutable();
    }

    /// <summary>Any <c>deletionTimestamp</c> means the pod is terminating; it must still be a time, as the API server requires.</summary>
    private static bool ReadTerminating(MapReader metadata)
    {
        var text = metadata.String("deletionTimestamp");
        if (text is null)
        {
            return false;
        }

        if (!DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out _))
        {
            metadata.Scope.Error(metadata.PathOf("deletionTimestamp"), metadata.Get("deletionTimestamp"), $"must be an RFC 3339 time such as 2025-01-01T00:00:00Z, got {ScalarNode.Quote(text)}");
        }

        return true;
    }

    /// <summary>
    /// The Ready condition, with Kubernetes' rule that a pod without one is not ready, and one deviation:
    /// a pod with no <c>status.conditions</c> at all (a hand-written manifest) is ready.
    /// </summary>
    private static bool ReadReady(MapReader status)
    {
        if (!status.Has("conditions"))
        {
            return true;
        }

        var ready = false;
        foreach (var (condition, _) in status.Maps("conditions", Schemas.PodCondition))
        {
            var type = condition.String("type");
            var value = condition.String("status");
            if (condition.Exists && condition.Get("type") is null)
            {
                condition.Scope.Error(condition.PathOf("type"), condition.Node, "required");
            }

            if (value is not (null or "True" or "False" or "Unknown"))
            {
                condition.Scope.Error(condition.PathOf("status"), condition.Get("status"), $"unsupported value {ScalarNode.Quote(value)}; supported: True, False, Unknown");
            }

            if (string.Equals(type, "Ready", StringComparison.Ordinal))
            {
                ready = string.Equals(value, "True", StringComparison.Ordinal);
            }
        }

        return ready;
    }

    /// <summary><c>status.podIP</c>, else the first of <c>status.podIPs</c> (the same address in Kubernetes).</summary>
    private static IPAddress? ReadAddress(MapReader status)
    {
        // An empty podIP is Kubernetes' "none yet", not a malformed address.
        if (status.String("podIP") is { Length: > 0 })
        {
            return Values.IP(status.Scope, status.Get("podIP"), status.PathOf("podIP"));
        }

        foreach (var (entry, _) in status.Maps("podIPs", Schemas.PodIP))
        {
            return Values.IP(status.Scope, entry.Get("ip"), entry.PathOf("ip"));
        }

        return null;
    }
}

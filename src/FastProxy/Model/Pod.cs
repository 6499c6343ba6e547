using System.Collections.Frozen;
using System.Collections.Immutable;
using System.Net;

namespace FastProxy.Model;

/// <summary>A backend instance: what a service's selector chooses and what connections are forwarded to.</summary>
public sealed record Pod
{
    private readonly IReadOnlyDictionary<string, string> _labels = FrozenDictionary<string, string>.Empty;

    /// <summary>The namespace. Defaults to <c>default</c>.</summary>
    public string Namespace { get; init; } = NamespacedName.DefaultNamespace;

    /// <summary>The pod's name, unique in its namespace.</summary>
    public required string Name { get; init; }

    /// <summary>The pod's labels, matched by service selectors. Copied when set, so later changes to the given dictionary do not reach the pod. Defaults to none.</summary>
    public IReadOnlyDictionary<string, string> Labels
    {
        get => _labels;

        // A caller reusing and changing its dictionary would otherwise change a pod the catalog has
        // indexed by these labels, behind the index's back.
        init => _labels = value is null or FrozenDictionary<string, string> ? value! : value.ToFrozenDictionary(StringComparer.Ordinal);
    }

    /// <summary>The pod's IP address (Kubernetes <c>status.podIP</c>).</summary>
    public required IPAddress Address { get; init; }

    /// <summary>Whether the pod is ready to take new connections (its Ready condition). Defaults to true.</summary>
    public bool Ready { get; init; } = true;

    /// <summary>
    /// Whether the pod is shutting down (Kubernetes: it has a <c>deletionTimestamp</c>). A terminating pod
    /// takes no new connections while its service has a ready endpoint. Defaults to false.
    /// </summary>
    public bool Terminating { get; init; }

    /// <summary>The ports its containers declare, by name for named target ports. Defaults to none.</summary>
    public ImmutableArray<ContainerPort> ContainerPorts { get; init; } = [];

    /// <summary>The node the pod runs on (<c>spec.nodeName</c>), for <see cref="TrafficPolicy.Local"/>; null when unknown. Defaults to null.</summary>
    public string? NodeName { get; init; }

    /// <summary>The zone of the pod's node (<c>topology.kubernetes.io/zone</c>), for <see cref="TrafficDistribution.PreferSameZone"/>; null when unknown. Defaults to null.</summary>
    public string? Zone { get; init; }

    /// <summary>The pod's host name (<c>spec.hostname</c>): its endpoint's DNS name in a headless service named by <see cref="Subdomain"/>. Defaults to null.</summary>
    public string? Hostname { get; init; }

    /// <summary>The headless service that publishes <see cref="Hostname"/> (<c>spec.subdomain</c>). Defaults to null.</summary>
    public string? Subdomain { get; init; }

    /// <summary>
    /// The pod's share for weighted strategies, relative to the other pods of a service, 1-10000
    /// (manifests: the <c>fastproxy.io/weight</c> annotation). Strategies that ignore weights ignore it. Defaults to 1.
    /// </summary>
    public int Weight { get; init; } = 1;

    /// <summary>The pod's identity.</summary>
    public NamespacedName Id => new(Namespace, Name);
}

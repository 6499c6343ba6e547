using System.Collections.Immutable;

namespace FastProxy.Kubernetes;

/// <summary>What a <see cref="KubernetesCatalogSource"/> knows of its API server at one moment.</summary>
public sealed class KubernetesSourceStatus
{
    /// <summary>
    /// True when, for every watched resource, the API server last proved it answers (a list, a watch event or
    /// bookmark, a watch it ended cleanly) and nothing failed since. After an outage a quiet watch turns it
    /// true with its first event or bookmark (the API server sends a bookmark about once a minute).
    /// </summary>
    public required bool Connected { get; init; }

    /// <summary>True once every watched resource was listed and applied at least once.</summary>
    public required bool Synced { get; init; }

    /// <summary>How many times a resource was listed again because its resourceVersion was too old (410 Gone).</summary>
    public required long Relists { get; init; }

    /// <summary>The last resourceVersion seen per watched resource (<c>services</c>, <c>endpointslices/NAMESPACE</c>...), from lists, events and bookmarks.</summary>
    public required ImmutableDictionary<string, string> ResourceVersions { get; init; }

    /// <summary>The last failure talking to the API server, or null; stays after a recovery, for diagnosis.</summary>
    public string? LastError { get; init; }
}

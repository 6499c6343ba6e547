using System.Collections.Immutable;
using FastProxy.Manifests;
using FastProxy.Model;

namespace FastProxy.Kubernetes.Mapping;

/// <summary>What an API object became: a model for the catalog, nothing (not an endpoint: a pending pod, an ignored slice), or errors.</summary>
internal sealed record MappedObject(
    ManifestObjectKind Kind,
    NamespacedName Id,
    string? ResourceVersion,
    object? Model,
    ImmutableArray<ManifestDiagnostic> Errors)
{
    /// <summary>True when the object could not be read: the catalog keeps its last good version.</summary>
    public bool IsInvalid => !Errors.IsEmpty;
}

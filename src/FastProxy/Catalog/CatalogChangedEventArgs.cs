using System.Collections.Immutable;

namespace FastProxy.Catalog;

/// <summary>Carries the newly published catalog version and what it changed.</summary>
/// <param name="snapshot">The new version.</param>
/// <param name="changes">What changed, one entry per service in <see cref="CatalogSnapshot.ChangedServices"/>.</param>
public sealed class CatalogChangedEventArgs(CatalogSnapshot snapshot, ImmutableArray<ServiceChange> changes) : EventArgs
{
    /// <summary>The new version; <see cref="CatalogSnapshot.ChangedServices"/> says which services changed.</summary>
    public CatalogSnapshot Snapshot { get; } = snapshot;

    /// <summary>What changed about each service: added, updated or removed, and which endpoints joined, left or changed.</summary>
    public ImmutableArray<ServiceChange> Changes { get; } = changes;
}

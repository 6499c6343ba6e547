namespace FastProxy.Catalog;

/// <summary>Carries the newly published catalog version.</summary>
/// <param name="snapshot">The new version.</param>
public sealed class CatalogChangedEventArgs(CatalogSnapshot snapshot) : EventArgs
{
    /// <summary>The new version; <see cref="CatalogSnapshot.ChangedServices"/> says what changed.</summary>
    public CatalogSnapshot Snapshot { get; } = snapshot;
}

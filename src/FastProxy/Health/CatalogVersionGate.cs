using FastProxy.Catalog;
using FastProxy.Model;

namespace FastProxy.Health;

/// <summary>
/// The version order <c>ListenerManager</c> keeps, for the catalog's other followers (the health monitor and the
/// health-check node port server). The start-up reconcile and the first change notifications race: a version at
/// or below the last one applied is stale and skipped, so a start-up reconcile that lost the race cannot bring
/// back probers or ports for a service the newer version removed (nothing would remove them again); a version
/// that does not follow the last one (the first, or one after a missed notification) reconciles every service,
/// since the versions in between may have changed any of them. Not thread-safe: the owner calls it under its lock.
/// </summary>
internal sealed class CatalogVersionGate
{
    private long _applied = -1;

    /// <summary>The newer of <paramref name="given"/> and the catalog's current version, read under the owner's lock so a version published meanwhile is either seen here or notified afterwards.</summary>
    public static CatalogSnapshot Newest(CatalogSnapshot given, ServiceCatalog catalog)
    {
        var current = catalog.Current;
        return current.Version > given.Version ? current : given;
    }

    /// <summary>
    /// Records <paramref name="snapshot"/> as applied and says which services to reconcile with it: none when it
    /// is not newer than the last applied, its changed services when it is the next one, else every service in
    /// <paramref name="known"/> (what the owner follows now) or in the snapshot. With <paramref name="ownChangesIrrelevant"/>
    /// the next version's own changes ask for nothing, but one after a gap still reconciles everything.
    /// </summary>
    public IReadOnlyCollection<NamespacedName> Advance(CatalogSnapshot snapshot, bool everyService, IEnumerable<NamespacedName> known, bool ownChangesIrrelevant = false)
    {
        if (snapshot.Version <= _applied)
        {
            return [];
        }

        var all = everyService || snapshot.Version != _applied + 1;
        _applied = snapshot.Version;

        // Copied: the owner changes what it follows while reconciling.
        return all ? [.. known.Union(snapshot.Services.Keys)] : ownChangesIrrelevant ? [] : snapshot.ChangedServices;
    }
}

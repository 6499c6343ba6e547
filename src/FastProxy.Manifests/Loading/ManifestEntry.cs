using FastProxy.Manifests.Syntax;
using FastProxy.Model;

namespace FastProxy.Manifests.Loading;

/// <summary>
/// One loaded object with where it came from and the tree it was read from: the tree maps catalog
/// errors' field paths back to lines, and tells a reload whether the object changed.
/// </summary>
internal sealed record ManifestEntry(ManifestObjectKind Kind, NamespacedName Id, object Model, ManifestLocation Location, Node Root);

using System.Collections.Immutable;
using FastProxy.Catalog;
using FastProxy.Manifests.Mapping;
using FastProxy.Manifests.Syntax;

namespace FastProxy.Manifests.Loading;

/// <summary>
/// Locates the catalog's validation errors in the manifest files. The catalog names objects the way
/// diagnostics do (<c>service default/web</c>) and fields by their manifest paths, so an error finds
/// its object's file and document, and its field's line in the object's tree.
/// </summary>
internal static class CatalogErrors
{
    public static ImmutableArray<ManifestDiagnostic> Locate(IReadOnlyList<ValidationError> errors, IReadOnlyList<ManifestEntry> entries)
    {
        var bySubject = new Dictionary<string, ManifestEntry>(StringComparer.Ordinal);
        foreach (var entry in entries)
        {
            bySubject.TryAdd($"{KindNames.Subject(entry.Kind)} {entry.Id}", entry);
        }

        var located = ImmutableArray.CreateBuilder<ManifestDiagnostic>(errors.Count);
        foreach (var error in errors)
        {
            ManifestLocation? location = null;
            if (bySubject.TryGetValue(error.Subject, out var entry))
            {
                var node = NodePath.Resolve(entry.Root, error.Field);
                location = node.Start.IsKnown ? entry.Location with { Line = node.Start.Line, Column = node.Start.Column } : entry.Location;
            }

            located.Add(new ManifestDiagnostic
            {
                Severity = ManifestSeverity.Error,
                Location = location,
                Subject = error.Subject,
                Field = string.IsNullOrEmpty(error.Field) ? null : error.Field,
                Message = error.Message,
            });
        }

        return located.ToImmutable();
    }
}

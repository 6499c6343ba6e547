using FastProxy.Manifests.Loading;
using FastProxy.Manifests.Syntax;

namespace FastProxy.Manifests.Mapping;

/// <summary>
/// The object being read: where it is and what it is called, so every diagnostic about it carries file,
/// document, object and field; and whether any of them was an error (then the object is not loaded).
/// Diagnostics are held until <see cref="Flush"/> and then listed in line order, which is not the order
/// the mappers read fields in.
/// </summary>
internal sealed class ObjectScope
{
    private readonly DiagnosticBag _bag;
    private readonly List<ManifestDiagnostic> _pending = [];

    public ObjectScope(DiagnosticBag bag, ManifestLocation location)
    {
        _bag = bag;
        Location = location;
    }

    /// <summary>Where the object is; its line is the object's first.</summary>
    public ManifestLocation Location { get; }

    /// <summary>The object as the catalog names it (<c>service default/web</c>); null until known.</summary>
    public string? Subject { get; set; }

    public bool HasErrors { get; private set; }

    /// <summary>Marks the object invalid without a diagnostic of its own (its document's tree had errors, reported already).</summary>
    public void MarkInvalid() => HasErrors = true;

    public void Error(string field, Node? at, string message)
    {
        HasErrors = true;
        Report(ManifestSeverity.Error, field, at?.Start ?? default, message);
    }

    public void Warning(string field, Node? at, string message) => Report(ManifestSeverity.Warning, field, at?.Start ?? default, message);

    public void Report(ManifestSeverity severity, string field, Position at, string message)
    {
        HasErrors |= severity == ManifestSeverity.Error;
        _pending.Add(new ManifestDiagnostic
        {
            Severity = severity,
            Location = at.IsKnown ? Location with { Line = at.Line, Column = at.Column } : Location,
            Subject = Subject,
            Field = string.IsNullOrEmpty(field) ? null : field,
            Message = message,
        });
    }

    /// <summary>Hands the object's diagnostics to the load's list, ordered by line and column (a stable sort: same place, same order).</summary>
    public void Flush()
    {
        foreach (var diagnostic in _pending.OrderBy(static d => (d.Location?.Line ?? 0, d.Location?.Column ?? 0)))
        {
            _bag.Add(diagnostic);
        }

        _pending.Clear();
    }
}

using System.Globalization;
using System.Text;

namespace FastProxy.Manifests;

/// <summary>
/// One problem found in the manifests, located in Kubernetes' terms: file and document, the object
/// (<c>service default/web</c>) and the field path (<c>spec.ports[1].port</c>).
/// </summary>
public sealed record ManifestDiagnostic
{
    /// <summary>Whether the object was rejected (error) or something was only ignored (warning).</summary>
    public required ManifestSeverity Severity { get; init; }

    /// <summary>Where: file, document, list item, and the line of the offending node when known; null when no file is involved.</summary>
    public ManifestLocation? Location { get; init; }

    /// <summary>The object, as the catalog names it: <c>service default/web</c>, <c>pod default/web-1</c>, <c>endpointslice default/web-1</c>, <c>endpoints default/web</c>; null when the problem is not in one object.</summary>
    public string? Subject { get; init; }

    /// <summary>The field path inside the object (or the document), e.g. <c>spec.ports[1].port</c> or <c>metadata.annotations[fastproxy.io/weight]</c>; null when the problem is not in one field.</summary>
    public string? Field { get; init; }

    /// <summary>What is wrong, e.g. <c>must be an integer, got "eighty"</c>.</summary>
    public required string Message { get; init; }

    /// <summary>
    /// Returns <c>web.yaml[doc 2] service default/web: spec.ports[1].port: must be an integer, got "eighty" (line 14, column 11)</c>;
    /// warnings start with <c>warning: </c>, and absent parts are left out.
    /// </summary>
    public override string ToString()
    {
        var builder = new StringBuilder();
        if (Severity == ManifestSeverity.Warning)
        {
            builder.Append("warning: ");
        }

        var prefixLength = builder.Length;
        if (Location is not null)
        {
            builder.Append(Location);
        }

        if (Subject is not null)
        {
            if (builder.Length > prefixLength)
            {
                builder.Append(' ');
            }

            AppendBounded(builder, Subject, MaxSubjectLength);
        }

        if (builder.Length > prefixLength)
        {
            builder.Append(": ");
        }

        if (!string.IsNullOrEmpty(Field))
        {
            AppendBounded(builder, Field, MaxFieldLength);
            builder.Append(": ");
        }

        AppendBounded(builder, Message, MaxMessageLength);
        if (Location?.Line is { } line)
        {
            builder.Append(CultureInfo.InvariantCulture, $" (line {line}, column {Location.Column ?? 1})");
        }

        return Printable(builder);
    }

    // A diagnostic is one log line: whatever a hostile manifest puts in a name or a value that reaches
    // the subject (the catalog names objects by their full names), the line stays short.
    private const int MaxSubjectLength = 256;
    private const int MaxFieldLength = 512;
    private const int MaxMessageLength = 1024;

    private static void AppendBounded(StringBuilder builder, string text, int max)
    {
        if (text.Length <= max)
        {
            builder.Append(text);
        }
        else
        {
            builder.Append(text.AsSpan(0, max)).Append(CultureInfo.InvariantCulture, $"... ({text.Length} characters)");
        }
    }

    /// <summary>
    /// Escapes control and invisible format characters (<c>\u001b</c>, <c>\ufeff</c>) that values from a
    /// manifest may carry: a diagnostic goes to logs and terminals, where raw ones could forge lines or
    /// colours, or hide why two names differ.
    /// </summary>
    private static string Printable(StringBuilder builder)
    {
        for (var i = builder.Length - 1; i >= 0; i--)
        {
            var c = builder[i];
            if (char.IsControl(c) || CharUnicodeInfo.GetUnicodeCategory(c) == UnicodeCategory.Format)
            {
                builder.Remove(i, 1).Insert(i, string.Create(CultureInfo.InvariantCulture, $"\\u{(int)c:x4}"));
            }
        }

        return builder.ToString();
    }
}

using System.Globalization;
using System.Text;

namespace FastProxy.Manifests;

/// <summary>Where something is in the manifest files: a file, a document in it, an item of a list, a line.</summary>
public sealed record ManifestLocation
{
    /// <summary>The file's path, as given or as found in a folder given.</summary>
    public required string FilePath { get; init; }

    /// <summary>The document in the file, counted from 1 as a reader counts <c>---</c>-separated documents (for JSON: top-level values); null for the whole file.</summary>
    public int? Document { get; init; }

    /// <summary>The index in a <c>List</c>'s <c>items</c>, counted from 0 as in field paths; null when the object is a document of its own.</summary>
    public int? Item { get; init; }

    /// <summary>The line, counted from 1; null when unknown.</summary>
    public int? Line { get; init; }

    /// <summary>The column, counted from 1 in characters; null when unknown.</summary>
    public int? Column { get; init; }

    /// <summary>Returns <c>web.yaml[doc 2]</c>, <c>all.yaml[doc 1].items[3]</c> or <c>web.yaml</c>; the line is not part of it.</summary>
    public override string ToString()
    {
        var builder = new StringBuilder(FilePath);
        if (Document is { } document)
        {
            builder.Append(CultureInfo.InvariantCulture, $"[doc {document}]");
        }

        if (Item is { } item)
        {
            builder.Append(CultureInfo.InvariantCulture, $".items[{item}]");
        }

        return builder.ToString();
    }
}

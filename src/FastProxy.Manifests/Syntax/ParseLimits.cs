namespace FastProxy.Manifests.Syntax;

/// <summary>The bounds one file's parse stays within, from <see cref="FastProxy.Manifests.ManifestReadOptions"/>.</summary>
internal readonly record struct ParseLimits(int MaxDepth, int MaxNodes);

/// <summary>
/// A limit was crossed: the rest of the file is not read. Stopping at once (rather than skipping to the
/// next document) matters because the parser would otherwise have to scan the rest of a hostile file.
/// </summary>
internal sealed class ParseAbortedException : Exception
{
    public ParseAbortedException(string message, string field, Position position)
        : base(message)
    {
        Field = field;
        Position = position;
    }

    public ParseAbortedException()
    {
        Field = string.Empty;
    }

    public ParseAbortedException(string message)
        : base(message)
    {
        Field = string.Empty;
    }

    public ParseAbortedException(string message, Exception innerException)
        : base(message, innerException)
    {
        Field = string.Empty;
    }

    public string Field { get; }

    public Position Position { get; }
}

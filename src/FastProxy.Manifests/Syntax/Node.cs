namespace FastProxy.Manifests.Syntax;

/// <summary>
/// One node of a parsed document. YAML and JSON both become these, so the mappers walk one tree with
/// field paths and line numbers whatever the file format was.
/// </summary>
internal abstract class Node
{
    protected Node(Position start) => Start = start;

    /// <summary>Where the node starts in its file.</summary>
    public Position Start { get; }

    /// <summary>How a value of this node reads in a message: a scalar's text, or "a mapping" / "a list".</summary>
    public abstract string Describe();
}

/// <summary>A 1-based line and column; (0, 0) when unknown.</summary>
internal readonly record struct Position(int Line, int Column)
{
    public bool IsKnown => Line > 0;
}

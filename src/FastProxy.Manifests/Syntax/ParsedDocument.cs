namespace FastProxy.Manifests.Syntax;

/// <summary>One document of a file: its 1-based index, its root (null when empty) and where it starts.</summary>
internal readonly record struct ParsedDocument(int Index, Node? Root, Position Start);

namespace FastProxy.Manifests.Syntax;

/// <summary>A problem found while building a document's tree (duplicate key, alias, complex key): the document still loads, marked invalid.</summary>
/// <param name="Document">The 1-based document index in its file.</param>
/// <param name="Field">The structural path of the offending node, e.g. <c>spec.ports[0].name</c>.</param>
/// <param name="Message">What is wrong.</param>
/// <param name="Position">Where.</param>
internal readonly record struct SyntaxError(int Document, string Field, string Message, Position Position);

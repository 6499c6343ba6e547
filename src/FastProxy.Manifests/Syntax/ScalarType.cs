namespace FastProxy.Manifests.Syntax;

/// <summary>
/// What a scalar is, resolved once when it is parsed: YAML 1.2 core schema for plain scalars, the token
/// type for JSON, always <see cref="String"/> for quoted or block scalars.
/// </summary>
internal enum ScalarType
{
    Null,
    Bool,
    Int,
    Float,
    String,
}

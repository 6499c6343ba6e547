using System.Text.RegularExpressions;

namespace FastProxy.Manifests.Syntax;

/// <summary>
/// Types plain YAML scalars by the YAML 1.2 core schema, the one JSON agrees with: <c>80</c> is an
/// integer, <c>"80"</c> a string, <c>true</c> a boolean, <c>yes</c> a string. (Kubernetes' YAML 1.1
/// decoder also reads <c>yes</c>/<c>on</c> as booleans; FastProxy does not.)
/// </summary>
internal static partial class ScalarResolver
{
    public static ScalarType ResolvePlain(string value) => value switch
    {
        "" or "~" or "null" or "Null" or "NULL" => ScalarType.Null,
        "true" or "True" or "TRUE" or "false" or "False" or "FALSE" => ScalarType.Bool,
        _ when IntPattern().IsMatch(value) => ScalarType.Int,
        _ when FloatPattern().IsMatch(value) => ScalarType.Float,
        _ => ScalarType.String,
    };

    [GeneratedRegex(@"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$", RegexOptions.CultureInvariant)]
    private static partial Regex IntPattern();

    [GeneratedRegex(@"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$", RegexOptions.CultureInvariant)]
    private static partial Regex FloatPattern();
}

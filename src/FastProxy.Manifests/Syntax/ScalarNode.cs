namespace FastProxy.Manifests.Syntax;

/// <summary>A scalar with its text and resolved type.</summary>
internal sealed class ScalarNode : Node
{
    // Values echoed back in messages are cut here: hostile input must not make messages megabytes long.
    private const int MaxEcho = 64;

    public ScalarNode(string value, ScalarType type, Position start)
        : base(start)
    {
        Value = value;
        Type = type;
    }

    public string Value { get; }

    public ScalarType Type { get; }

    public bool IsNull => Type == ScalarType.Null;

    /// <summary>Strings are quoted, everything else is printed as written.</summary>
    public override string Describe() => Type == ScalarType.String ? Quote(Value) : Cut(Value);

    /// <summary>Returns <paramref name="text"/> cut to its first 64 characters (and "...") when longer.</summary>
    public static string Cut(string text) => text.Length > MaxEcho ? string.Concat(text.AsSpan(0, MaxEcho), "...") : text;

    /// <summary>Returns <paramref name="text"/> (cut, see <see cref="Cut"/>) in double quotes, with quotes, backslashes and control characters escaped.</summary>
    public static string Quote(string text)
    {
        text = Cut(text);
        var builder = new System.Text.StringBuilder(text.Length + 2).Append('"');
        foreach (var c in text)
        {
            switch (c)
            {
                case '"': builder.Append("\\\""); break;
                case '\\': builder.Append("\\\\"); break;
                case '\n': builder.Append("\\n"); break;
                case '\t': builder.Append("\\t"); break;
                case '\r': builder.Append("\\r"); break;
                default:
                    if (char.IsControl(c))
                    {
                        builder.Append("\\u").Append(((int)c).ToString("x4", System.Globalization.CultureInfo.InvariantCulture));
                    }
                    else
                    {
                        builder.Append(c);
                    }

                    break;
            }
        }

        return builder.Append('"').ToString();
    }
}

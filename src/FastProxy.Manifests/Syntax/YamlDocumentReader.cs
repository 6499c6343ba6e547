using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace FastProxy.Manifests.Syntax;

/// <summary>
/// Reads a YAML stream document by document with YamlDotNet's parser events (not its representation
/// model, which recurses, expands nothing but shares aliased nodes, and throws on the first duplicate key).
/// Aliases are refused: manifests do not need them, and refusing them makes alias bombs harmless.
/// </summary>
internal static partial class YamlDocumentReader
{
    private const string StringTag = "tag:yaml.org,2002:str";

    /// <summary>
    /// Calls <paramref name="onDocument"/> for each complete document. A syntax error or a crossed limit
    /// ends the file: the documents before it were delivered, the one it is in is not.
    /// </summary>
    /// <returns>Null when the whole stream was read; otherwise why it stopped.</returns>
    public static SyntaxError? Read(string text, ParseLimits limits, List<SyntaxError> errors, Func<ParsedDocument, bool> onDocument)
    {
        var builder = new TreeBuilder(limits, errors);
        var parser = new Parser(new StringReader(text));
        var document = 0;
        var documentStart = default(Position);
        try
        {
            while (parser.MoveNext())
            {
                switch (parser.Current)
                {
                    case DocumentStart start:
                        document++;
                        documentStart = ToPosition(start.Start);
                        builder.BeginDocument(document);
                        break;
                    case DocumentEnd:
                        if (!onDocument(new ParsedDocument(document, builder.EndDocument(), documentStart)))
                        {
                            return null;
                        }

                        break;
                    case Scalar scalar:
                        builder.Scalar(new ScalarNode(scalar.Value, TypeOf(scalar), ToPosition(scalar.Start)));
                        break;
                    case MappingStart mapping:
                        builder.StartMapping(ToPosition(mapping.Start));
                        break;
                    case SequenceStart sequence:
                        builder.StartSequence(ToPosition(sequence.Start));
                        break;
                    case MappingEnd or SequenceEnd:
                        builder.End();
                        break;
                    case AnchorAlias alias:
                        // Refused, and stands in as a null: never expanded, so a billion laughs costs nothing.
                        builder.Error($"YAML aliases are not supported (*{alias.Value})", ToPosition(alias.Start));
                        builder.Scalar(new ScalarNode(string.Empty, ScalarType.Null, ToPosition(alias.Start)));
                        break;
                }
            }

            return null;
        }
        catch (ParseAbortedException limit)
        {
            return new SyntaxError(document, limit.Field, limit.Message, limit.Position);
        }
        catch (YamlException ex)
        {
            return new SyntaxError(document, string.Empty, "YAML syntax error: " + StripPosition(ex.Message), ToPosition(ex.Start));
        }
    }

    private static ScalarType TypeOf(Scalar scalar)
    {
        var tag = scalar.Tag.IsEmpty ? string.Empty : scalar.Tag.Value;
        if (scalar.Style != ScalarStyle.Plain || tag is StringTag or "!")
        {
            return ScalarType.String;
        }

        return ScalarResolver.ResolvePlain(scalar.Value);
    }

    private static Position ToPosition(Mark mark) => new(Clamp(mark.Line), Clamp(mark.Column));

    private static int Clamp(long value) => value > int.MaxValue ? int.MaxValue : (int)value;

    // YamlDotNet prefixes "(Line: 3, Col: 5, Idx: 20) - (Line: 3, Col: 6, Idx: 21): "; the position is reported separately.
    private static string StripPosition(string message) => PositionPrefix().Replace(message, string.Empty);

    [GeneratedRegex(@"^\(Line: \d+, Col: \d+, Idx: \d+\) - \(Line: \d+, Col: \d+, Idx: \d+\): ", RegexOptions.CultureInvariant)]
    private static partial Regex PositionPrefix();
}

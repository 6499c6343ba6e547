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

        // YamlDotNet takes a NUL for the end of the stream ("unexpected end of stream" inside a quoted
        // scalar) and passes other control characters into values, where they would reach logs raw. The
        // parser reads only up to the first character YAML does not allow, and the error names it there.
        var disallowed = text.AsSpan().IndexOfAny(NotPrintable);
        var parser = new Parser(new StringReader(disallowed < 0 ? text : text[..disallowed]));
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
                    case DocumentEnd end:
                        if (disallowed >= 0 && end.End.Index >= disallowed)
                        {
                            // The document the character is in ends here only because the parser's input does.
                            return NotPrintableError(text, disallowed, document);
                        }

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

            return disallowed >= 0 ? NotPrintableError(text, disallowed, Math.Max(document, 1)) : null;
        }
        catch (ParseAbortedException limit)
        {
            return new SyntaxError(document, limit.Field, limit.Message, limit.Position);
        }
        catch (YamlException) when (disallowed >= 0)
        {
            // Most likely the cut itself (an unterminated scalar): the character is the error to report.
            return NotPrintableError(text, disallowed, Math.Max(document, 1));
        }
        catch (YamlException ex)
        {
            var position = ToPosition(ex.Start);
            if (ex.Message.Contains("tab", StringComparison.OrdinalIgnoreCase))
            {
                // YamlDotNet points at the start of the enclosing mapping (often line 1); the tab is what to fix.
                position = FirstTabIndentation(text, position) ?? position;
            }

            return new SyntaxError(document, string.Empty, "YAML syntax error: " + StripPosition(ex.Message), position);
        }
    }

    // Outside YAML's printable set (YAML 1.2, 5.1): C0 controls but tab, LF and CR; DEL; C1 controls but NEL; U+FFFE and U+FFFF.
    private static readonly System.Buffers.SearchValues<char> NotPrintable = System.Buffers.SearchValues.Create(
        "\u0000\u0001\u0002\u0003\u0004\u0005\u0006\u0007\u0008\u000B\u000C\u000E\u000F\u0010\u0011\u0012\u0013\u0014\u0015\u0016\u0017\u0018\u0019\u001A\u001B\u001C\u001D\u001E\u001F\u007F"
        + "\u0080\u0081\u0082\u0083\u0084\u0086\u0087\u0088\u0089\u008A\u008B\u008C\u008D\u008E\u008F\u0090\u0091\u0092\u0093\u0094\u0095\u0096\u0097\u0098\u0099\u009A\u009B\u009C\u009D\u009E\u009F\uFFFE\uFFFF");

    private static SyntaxError NotPrintableError(string text, int index, int document)
        => new(document, string.Empty, FormattableString.Invariant($"YAML syntax error: control character U+{(int)text[index]:X4} is not allowed in YAML (write it as an escape such as \\u{(int)text[index]:x4} in a double-quoted string); the rest of the file was not read"), PositionOf(text, index));

    /// <summary>The 1-based line and column of <paramref name="index"/>.</summary>
    private static Position PositionOf(string text, int index)
    {
        var before = text.AsSpan(0, index);
        var lineStart = before.LastIndexOf('\n') + 1;
        return new Position(before.Count('\n') + 1, index - lineStart + 1);
    }

    /// <summary>The first tab in a line's indentation, from <paramref name="from"/>'s line on.</summary>
    private static Position? FirstTabIndentation(string text, Position from)
    {
        var line = 0;
        foreach (var range in text.AsSpan().Split('\n'))
        {
            line++;
            var content = text.AsSpan(range.Start.Value, range.End.Value - range.Start.Value);
            var indentation = content.Length - content.TrimStart(" \t").Length;
            var tab = content[..indentation].IndexOf('\t');
            if (line >= from.Line && tab >= 0)
            {
                return new Position(line, tab + 1);
            }
        }

        return null;
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

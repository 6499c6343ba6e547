using System.Text.Json;

namespace FastProxy.Manifests.Syntax;

/// <summary>
/// Reads JSON with System.Text.Json's reader rather than as YAML: JSON that YAML parsers trip over
/// (tab indentation, say) loads, and errors read like JSON errors. Several top-level values in one
/// file are several documents, like <c>kubectl</c>'s JSON streams.
/// </summary>
internal static class JsonDocumentReader
{
    /// <summary>Calls <paramref name="onDocument"/> for each top-level value; see <see cref="YamlDocumentReader.Read"/>.</summary>
    public static SyntaxError? Read(ReadOnlySpan<byte> utf8, ParseLimits limits, List<SyntaxError> errors, Func<ParsedDocument, bool> onDocument)
    {
        var builder = new TreeBuilder(limits, errors);
        var lines = new LineCounter();
        var document = 0;
        var depth = 0;
        var documentStart = default(Position);
        var reader = new Utf8JsonReader(utf8, new JsonReaderOptions
        {
            AllowMultipleValues = true,
            CommentHandling = JsonCommentHandling.Skip,
            // Our own limit (in TreeBuilder) speaks first, with the same message as for YAML.
            MaxDepth = limits.MaxDepth + 1,
        });
        try
        {
            while (reader.Read())
            {
                var at = lines.Advance(utf8, reader.TokenStartIndex);
                if (depth == 0)
                {
                    document++;
                    documentStart = at;
                    builder.BeginDocument(document);
                }

                switch (reader.TokenType)
                {
                    case JsonTokenType.StartObject:
                        builder.StartMapping(at);
                        depth++;
                        break;
                    case JsonTokenType.StartArray:
                        builder.StartSequence(at);
                        depth++;
                        break;
                    case JsonTokenType.EndObject or JsonTokenType.EndArray:
                        builder.End();
                        depth--;
                        break;
                    case JsonTokenType.PropertyName or JsonTokenType.String:
                        builder.Scalar(new ScalarNode(reader.GetString() ?? string.Empty, ScalarType.String, at));
                        break;
                    case JsonTokenType.Number:
                        var number = System.Text.Encoding.UTF8.GetString(reader.HasValueSequence ? System.Buffers.BuffersExtensions.ToArray(reader.ValueSequence) : reader.ValueSpan);
                        var isInteger = number.AsSpan().IndexOfAny('.', 'e', 'E') < 0;
                        builder.Scalar(new ScalarNode(number, isInteger ? ScalarType.Int : ScalarType.Float, at));
                        break;
                    case JsonTokenType.True or JsonTokenType.False:
                        builder.Scalar(new ScalarNode(reader.TokenType == JsonTokenType.True ? "true" : "false", ScalarType.Bool, at));
                        break;
                    case JsonTokenType.Null:
                        builder.Scalar(new ScalarNode("null", ScalarType.Null, at));
                        break;
                }

                if (depth == 0 && !onDocument(new ParsedDocument(document, builder.EndDocument(), documentStart)))
                {
                    return null;
                }
            }

            return null;
        }
        catch (ParseAbortedException limit)
        {
            return new SyntaxError(document, limit.Field, limit.Message, limit.Position);
        }
        catch (JsonException ex)
        {
            var line = ex.LineNumber is { } l ? (int)Math.Min(l + 1, int.MaxValue) : 0;
            var column = ex.BytePositionInLine is { } c ? (int)Math.Min(c + 1, int.MaxValue) : 0;
            return new SyntaxError(document, string.Empty, "JSON syntax error: " + StripPosition(ex.Message), new Position(line, column));
        }
        catch (InvalidOperationException ex)
        {
            // GetString on a string with invalid escapes or UTF-8 throws this rather than JsonException.
            return new SyntaxError(document, string.Empty, "JSON syntax error: " + ex.Message, lines.Current);
        }
    }

    // "... LineNumber: 2 | BytePositionInLine: 4." duplicates the position reported separately.
    private static string StripPosition(string message)
    {
        var cut = message.IndexOf(" LineNumber:", StringComparison.Ordinal);
        return cut < 0 ? message : message[..cut];
    }

    /// <summary>
    /// Turns byte offsets into lines and columns by walking forward once over the file: tokens come in
    /// order, so the whole file costs one pass whatever its shape (a column counts characters, not bytes).
    /// </summary>
    private sealed class LineCounter
    {
        private long _offset;
        private int _line = 1;
        private int _column = 1;

        public Position Current => new(_line, _column);

        public Position Advance(ReadOnlySpan<byte> text, long offset)
        {
            for (; _offset < offset && _offset < text.Length; _offset++)
            {
                var b = text[(int)_offset];
                if (b == (byte)'\n')
                {
                    _line++;
                    _column = 1;
                }
                else if ((b & 0xC0) != 0x80)
                {
                    // Counts the first byte of each UTF-8 sequence only.
                    _column++;
                }
            }

            return Current;
        }
    }
}

using System.Text;

namespace FastProxy.Manifests.Syntax;

/// <summary>
/// Builds one document's tree from a flat stream of start/scalar/end calls (YAML events or JSON
/// tokens) with an explicit stack, never recursion: nesting is bounded by <see cref="ParseLimits.MaxDepth"/>
/// and the node count by <see cref="ParseLimits.MaxNodes"/> (for the whole file), so no input can
/// overflow the stack or build an unbounded tree. Duplicate keys are refused here, where the key order is known.
/// </summary>
internal sealed class TreeBuilder
{
    private const int MaxPathLength = 120;

    private readonly ParseLimits _limits;
    private readonly List<SyntaxError> _errors;
    private readonly List<Frame> _stack = [];
    private int _nodes;
    private int _document;
    private Node? _root;

    public TreeBuilder(ParseLimits limits, List<SyntaxError> errors)
    {
        _limits = limits;
        _errors = errors;
    }

    public void BeginDocument(int document)
    {
        _document = document;
        _root = null;
        _stack.Clear();
    }

    /// <summary>The finished document's root; null for an empty document.</summary>
    public Node? EndDocument() => _root;

    public void Scalar(ScalarNode node)
    {
        Count(node.Start);
        Attach(node);
    }

    public void StartMapping(Position start) => Open(new MappingNode(start));

    public void StartSequence(Position start) => Open(new SequenceNode(start));

    public void End()
    {
        var frame = _stack[^1];
        _stack.RemoveAt(_stack.Count - 1);
        Attach(frame.Container);
    }

    /// <summary>Reports a problem at the node being built (an alias, say) without stopping.</summary>
    public void Error(string message, Position position) => _errors.Add(new(_document, CurrentPath(), message, position));

    private void Open(Node container)
    {
        Count(container.Start);
        if (_stack.Count >= _limits.MaxDepth)
        {
            throw new ParseAbortedException($"nesting deeper than {_limits.MaxDepth} levels; the rest of the file was not read", CurrentPath(), container.Start);
        }

        if (_stack.Count > 0 && _stack[^1] is { Container: MappingNode, Key: null })
        {
            // Still built, to keep the stream in step, and dropped with its value when it ends (Attach).
            _errors.Add(new(_document, CurrentPath(), "mapping keys must be scalars, not " + container.Describe(), container.Start));
        }

        _stack.Add(new Frame(container));
    }

    private void Attach(Node node)
    {
        if (_stack.Count == 0)
        {
            _root = node;
            return;
        }

        var frame = _stack[^1];
        switch (frame.Container)
        {
            case SequenceNode sequence:
                sequence.Add(node);
                break;
            case MappingNode when frame.Key is null && node is not ScalarNode:
                // A container key (reported in Open): its value is dropped too.
                frame.Key = new ScalarNode(string.Empty, ScalarType.Null, node.Start);
                frame.DiscardValue = true;
                break;
            case MappingNode mapping when frame.Key is null:
                var key = (ScalarNode)node;
                if (mapping.Find(key.Value) is not null)
                {
                    _errors.Add(new(_document, Join(PathOf(_stack.Count - 1, frame), key.Value), $"duplicate key {ScalarNode.Quote(key.Value)}", key.Start));
                    frame.DiscardValue = true;
                }

                frame.Key = key;
                break;
            case MappingNode mapping:
                if (!frame.DiscardValue)
                {
                    mapping.TryAdd(frame.Key, node);
                }

                frame.Key = null;
                frame.DiscardValue = false;
                break;
        }
    }

    private void Count(Position at)
    {
        if (++_nodes > _limits.MaxNodes)
        {
            throw new ParseAbortedException($"more than {_limits.MaxNodes} nodes in one file; the rest of the file was not read", CurrentPath(), at);
        }
    }

    /// <summary>The path of the node about to be attached at the top of the stack.</summary>
    private string CurrentPath() => _stack.Count == 0 ? string.Empty : PathOf(_stack.Count, null);

    /// <summary>The path down to (and including the pending child of) the first <paramref name="depth"/> frames.</summary>
    private string PathOf(int depth, Frame? extra)
    {
        var builder = new StringBuilder();
        for (var i = 0; i < depth; i++)
        {
            AppendChild(builder, _stack[i]);
        }

        if (extra is not null)
        {
            AppendChild(builder, extra);
        }

        // Deep hostile nesting would otherwise print a path of thousands of characters.
        return builder.Length > MaxPathLength ? string.Concat(builder.ToString(0, MaxPathLength), "...") : builder.ToString();
    }

    private static void AppendChild(StringBuilder builder, Frame frame)
    {
        switch (frame.Container)
        {
            case SequenceNode sequence:
                builder.Append('[').Append(sequence.Items.Count).Append(']');
                break;
            case MappingNode when frame.Key is not null:
                AppendKey(builder, frame.Key.Value);
                break;
        }
    }

    private static string Join(string path, string key)
    {
        var builder = new StringBuilder(path);
        AppendKey(builder, key);
        return builder.ToString();
    }

    // Field-like keys read as `.key`; others (label keys with dots and slashes) as `[key]`.
    private static void AppendKey(StringBuilder builder, string key)
    {
        key = ScalarNode.Cut(key);
        if (key.Length > 0 && key.All(static c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-'))
        {
            if (builder.Length > 0)
            {
                builder.Append('.');
            }

            builder.Append(key);
        }
        else
        {
            builder.Append('[').Append(key).Append(']');
        }
    }

    private sealed class Frame(Node container)
    {
        public Node Container { get; } = container;

        /// <summary>In a mapping: the key whose value comes next; null while a key is expected.</summary>
        public ScalarNode? Key { get; set; }

        /// <summary>In a mapping: the next value is dropped (its key was a duplicate or not a scalar).</summary>
        public bool DiscardValue { get; set; }
    }
}

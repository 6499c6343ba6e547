namespace FastProxy.Manifests.Syntax;

/// <summary>A mapping with scalar keys, in document order; a key appears once (duplicates are refused while building).</summary>
internal sealed class MappingNode : Node
{
    // Small mappings (nearly all of them) are searched in place; an index is built only for big ones,
    // so a hostile mapping with a million keys stays linear to build and cheap to look up.
    private const int IndexThreshold = 16;

    private readonly List<MappingEntry> _entries = [];
    private Dictionary<string, int>? _index;

    public MappingNode(Position start)
        : base(start)
    {
    }

    public IReadOnlyList<MappingEntry> Entries => _entries;

    /// <summary>Adds an entry; returns false (and adds nothing) when the key is already present.</summary>
    public bool TryAdd(ScalarNode key, Node value)
    {
        if (IndexOf(key.Value) >= 0)
        {
            return false;
        }

        _index?.Add(key.Value, _entries.Count);
        _entries.Add(new MappingEntry(key, value));
        if (_index is null && _entries.Count > IndexThreshold)
        {
            _index = new Dictionary<string, int>(StringComparer.Ordinal);
            for (var i = 0; i < _entries.Count; i++)
            {
                _index.Add(_entries[i].Key.Value, i);
            }
        }

        return true;
    }

    /// <summary>Returns the value under <paramref name="key"/>, or null when absent.</summary>
    public Node? Find(string key)
    {
        var i = IndexOf(key);
        return i < 0 ? null : _entries[i].Value;
    }

    public override string Describe() => "a mapping";

    private int IndexOf(string key)
    {
        if (_index is not null)
        {
            return _index.TryGetValue(key, out var i) ? i : -1;
        }

        for (var i = 0; i < _entries.Count; i++)
        {
            if (string.Equals(_entries[i].Key.Value, key, StringComparison.Ordinal))
            {
                return i;
            }
        }

        return -1;
    }
}

/// <summary>One key and its value.</summary>
internal readonly record struct MappingEntry(ScalarNode Key, Node Value);

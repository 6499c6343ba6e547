using FastProxy.Model;

namespace FastProxy.Catalog;

/// <summary>
/// Label indexes of one kind of object, so a change finds what it touches without scanning its
/// namespace: pods by each label they carry, services by each pair their selector requires.
/// </summary>
internal sealed class SelectorIndex
{
    private readonly Dictionary<LabelPair, HashSet<string>> _names = [];

    /// <summary>Records that object <paramref name="name"/> of <paramref name="ns"/> carries (or requires) each pair.</summary>
    public void Add(string ns, string name, IEnumerable<KeyValuePair<string, string>> pairs)
    {
        foreach (var (key, value) in pairs)
        {
            var pair = new LabelPair(ns, key, value);
            if (!_names.TryGetValue(pair, out var names))
            {
                names = new HashSet<string>(StringComparer.Ordinal);
                _names[pair] = names;
            }

            names.Add(name);
        }
    }

    /// <summary>Forgets what <see cref="Add"/> recorded for the same arguments.</summary>
    public void Remove(string ns, string name, IEnumerable<KeyValuePair<string, string>> pairs)
    {
        foreach (var (key, value) in pairs)
        {
            var pair = new LabelPair(ns, key, value);
            if (_names.TryGetValue(pair, out var names) && names.Remove(name) && names.Count == 0)
            {
                _names.Remove(pair);
            }
        }
    }

    /// <summary>The names recorded under one pair; empty when none.</summary>
    public IReadOnlyCollection<string> Get(string ns, string key, string value)
        => _names.TryGetValue(new LabelPair(ns, key, value), out var names) ? names : [];

    /// <summary>
    /// The smallest set among those recorded under the selector's pairs: every object matching the
    /// selector is in it, so matching only these costs what the selection costs, not the namespace.
    /// </summary>
    public IReadOnlyCollection<string> Narrowest(string ns, LabelSelector selector)
    {
        IReadOnlyCollection<string>? narrowest = null;
        foreach (var (key, value) in selector.MatchLabels)
        {
            var names = Get(ns, key, value);
            if (narrowest is null || names.Count < narrowest.Count)
            {
                narrowest = names;
            }
        }

        return narrowest ?? [];
    }

    private readonly record struct LabelPair(string Namespace, string Key, string Value);
}

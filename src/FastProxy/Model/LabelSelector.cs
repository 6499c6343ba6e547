using System.Collections.Frozen;

namespace FastProxy.Model;

/// <summary>
/// An equality-based label selector (Kubernetes <c>spec.selector</c> of a Service): it matches every
/// label set that contains all of its key/value pairs. Extra labels on the pod do not matter.
/// </summary>
public sealed class LabelSelector
{
    private readonly KeyValuePair<string, string>[] _requirements;

    /// <summary>Creates a selector requiring every pair in <paramref name="matchLabels"/>.</summary>
    /// <param name="matchLabels">The labels a pod must carry, with these exact values.</param>
    public LabelSelector(IEnumerable<KeyValuePair<string, string>> matchLabels)
    {
        ArgumentNullException.ThrowIfNull(matchLabels);
        MatchLabels = matchLabels.ToFrozenDictionary(StringComparer.Ordinal);
        // Sorted so two selectors with the same pairs compare and print alike.
        _requirements = MatchLabels.OrderBy(static p => p.Key, StringComparer.Ordinal).ToArray();
    }

    /// <summary>The required labels.</summary>
    public IReadOnlyDictionary<string, string> MatchLabels { get; }

    /// <summary>True when the selector has no requirement. Kubernetes treats an empty Service selector as "no selector": it selects no pod.</summary>
    public bool IsEmpty => _requirements.Length == 0;

    /// <summary>Returns true when <paramref name="labels"/> holds every required pair (an empty selector matches nothing).</summary>
    /// <param name="labels">A pod's labels.</param>
    public bool Matches(IReadOnlyDictionary<string, string> labels)
    {
        ArgumentNullException.ThrowIfNull(labels);
        if (_requirements.Length == 0)
        {
            return false;
        }

        foreach (var (key, value) in _requirements)
        {
            if (!labels.TryGetValue(key, out var actual) || !string.Equals(actual, value, StringComparison.Ordinal))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Returns the selector in Kubernetes' string form, <c>app=web,tier=front</c>.</summary>
    public override string ToString() => string.Join(',', _requirements.Select(static p => $"{p.Key}={p.Value}"));
}

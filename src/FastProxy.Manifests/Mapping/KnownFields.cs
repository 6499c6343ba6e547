using System.Collections.Frozen;

namespace FastProxy.Manifests.Mapping;

/// <summary>
/// Every field a Kubernetes object may have at one level: the ones FastProxy reads and the ones it
/// ignores on purpose (an image, a probe). Anything else is reported as unknown, with a suggestion,
/// because an unknown field is most often a typo that would otherwise be silently ignored.
/// </summary>
internal sealed class KnownFields
{
    private readonly FrozenSet<string> _names;

    public KnownFields(IEnumerable<string> read, IEnumerable<string>? ignored = null)
    {
        Read = [.. read];
        _names = Read.Concat(ignored ?? []).ToFrozenSet(StringComparer.Ordinal);
    }

    /// <summary>The fields FastProxy reads; suggestions come from these.</summary>
    public IReadOnlyList<string> Read { get; }

    /// <summary>No field is unknown: for free-form maps (labels) or fields whose content is not checked.</summary>
    public static KnownFields Any { get; } = new([]);

    public bool IsAny => ReferenceEquals(this, Any);

    public bool Contains(string name) => _names.Contains(name);
}

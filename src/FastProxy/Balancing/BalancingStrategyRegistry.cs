using System.Collections.Frozen;

namespace FastProxy.Balancing;

/// <summary>Built-in and user strategies by name; built once, looked up when a picker is rebuilt, never per connection.</summary>
internal sealed class BalancingStrategyRegistry
{
    private readonly FrozenDictionary<string, IBalancingStrategy> _byName;

    public BalancingStrategyRegistry(IEnumerable<IBalancingStrategy> userStrategies)
    {
        var all = new Dictionary<string, IBalancingStrategy>(StringComparer.OrdinalIgnoreCase);
        foreach (var strategy in BuiltIn().Concat(userStrategies))
        {
            if (string.IsNullOrWhiteSpace(strategy.Name))
            {
                throw new ArgumentException($"Balancing strategy {strategy.GetType().Name} has no name.", nameof(userStrategies));
            }

            if (!all.TryAdd(strategy.Name, strategy))
            {
                throw new ArgumentException($"Two balancing strategies are named '{strategy.Name}': {all[strategy.Name].GetType().Name} and {strategy.GetType().Name}.", nameof(userStrategies));
            }
        }

        _byName = all.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase);
    }

    public IEnumerable<string> Names => _byName.Keys.Order(StringComparer.Ordinal);

    public bool TryGet(string name, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out IBalancingStrategy? strategy)
        => _byName.TryGetValue(name, out strategy);

    private static IEnumerable<IBalancingStrategy> BuiltIn()
    {
        yield return new RoundRobinStrategy();
    }
}

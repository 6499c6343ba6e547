using System.Collections.Frozen;

namespace FastProxy.Balancing;

/// <summary>
/// Built-in and user strategies by name; built once, looked up when a picker is rebuilt, never per
/// connection. A user strategy named like a built-in one replaces it: that is how a built-in strategy
/// is given other settings (for example a larger Maglev table).
/// </summary>
internal sealed class BalancingStrategyRegistry
{
    private readonly FrozenDictionary<string, IBalancingStrategy> _byName;

    public BalancingStrategyRegistry(IEnumerable<IBalancingStrategy> userStrategies)
    {
        var all = BuiltIn().ToDictionary(static s => s.Name, StringComparer.OrdinalIgnoreCase);
        var userNames = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var strategy in userStrategies)
        {
            if (string.IsNullOrWhiteSpace(strategy.Name))
            {
                throw new ArgumentException($"Balancing strategy {strategy.GetType().Name} has no name.", nameof(userStrategies));
            }

            if (!userNames.Add(strategy.Name))
            {
                throw new ArgumentException($"Two balancing strategies are named '{strategy.Name}': {all[strategy.Name].GetType().Name} and {strategy.GetType().Name}.", nameof(userStrategies));
            }

            all[strategy.Name] = strategy;
        }

        _byName = all.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase);
    }

    public IEnumerable<string> Names => _byName.Keys.Order(StringComparer.Ordinal);

    public bool TryGet(string name, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out IBalancingStrategy? strategy)
        => _byName.TryGetValue(name, out strategy);

    private static IEnumerable<IBalancingStrategy> BuiltIn()
    {
        yield return new RoundRobinStrategy();
        yield return new WeightedRoundRobinStrategy();
        yield return new RandomStrategy();
        yield return new LeastConnectionsStrategy();
        yield return new PowerOfTwoChoicesStrategy();
        yield return new MaglevStrategy();
        yield return new RingHashStrategy();
        yield return new SourceIpHashStrategy();
        yield return new BoundedLoadStrategy();
    }
}

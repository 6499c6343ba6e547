using FastProxy.Manifests.Syntax;
using FastProxy.Model;

namespace FastProxy.Manifests.Mapping;

/// <summary>Enumerated string fields, spelled (case and all) as the Kubernetes API spells them.</summary>
internal static class Choices
{
    public static readonly (string Name, ServiceType Value)[] ServiceTypes =
        [("ClusterIP", ServiceType.ClusterIP), ("NodePort", ServiceType.NodePort), ("LoadBalancer", ServiceType.LoadBalancer), ("ExternalName", ServiceType.ExternalName)];

    public static readonly (string Name, ServiceProtocol Value)[] Protocols = [("TCP", ServiceProtocol.Tcp), ("UDP", ServiceProtocol.Udp)];

    public static readonly (string Name, SessionAffinity Value)[] Affinities = [("None", SessionAffinity.None), ("ClientIP", SessionAffinity.ClientIP)];

    // "Global", an early alpha name of Cluster, is refused (with a hint) as the API server refuses it today.
    public static readonly (string Name, TrafficPolicy Value)[] Policies = [("Cluster", TrafficPolicy.Cluster), ("Local", TrafficPolicy.Local)];

    // PreferClose is Kubernetes' older name for PreferSameZone (KEP-3015): both mean the same.
    public static readonly (string Name, TrafficDistribution Value)[] Distributions =
        [("PreferClose", TrafficDistribution.PreferSameZone), ("PreferSameZone", TrafficDistribution.PreferSameZone), ("PreferSameNode", TrafficDistribution.PreferSameNode)];

    /// <summary>Reads <paramref name="key"/> as one of <paramref name="choices"/>; absent gives <paramref name="fallback"/>.</summary>
    public static T Read<T>(MapReader reader, string key, (string Name, T Value)[] choices, T fallback, (string Value, string Note)? explain = null)
    {
        var text = reader.String(key);
        if (text is null)
        {
            return fallback;
        }

        foreach (var (name, value) in choices)
        {
            if (string.Equals(name, text, StringComparison.Ordinal))
            {
                return value;
            }
        }

        var supported = string.Join(", ", choices.Select(static c => c.Name).Distinct());
        var note = explain is { } e && string.Equals(e.Value, text, StringComparison.Ordinal) ? " " + e.Note : string.Empty;
        reader.Scope.Error(reader.PathOf(key), reader.Get(key), $"unsupported value {ScalarNode.Quote(text)}{note}; supported: {supported}");
        return fallback;
    }

    /// <summary>A port's protocol: TCP (the default) or UDP; SCTP is valid Kubernetes that FastProxy cannot serve.</summary>
    public static ServiceProtocol Protocol(MapReader reader)
        => Read(reader, "protocol", Protocols, ServiceProtocol.Tcp, ("SCTP", "(FastProxy does not proxy SCTP)"));
}

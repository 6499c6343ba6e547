using FastProxy.Model;

namespace FastProxy.Hosting;

/// <summary>A pod declared in configuration (<c>FastProxy:Pods</c>): the common fields of <see cref="Pod"/>.</summary>
public sealed class PodDeclaration
{
    /// <summary>The pod's name, unique in its namespace.</summary>
    public string Name { get; set; } = string.Empty;

    /// <summary>The namespace. Defaults to <c>default</c>.</summary>
    public string Namespace { get; set; } = NamespacedName.DefaultNamespace;

    /// <summary>The pod's IP address. Required.</summary>
    public string? Address { get; set; }

    /// <summary>The pod's labels, matched by service selectors. Defaults to none.</summary>
    public IDictionary<string, string> Labels { get; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>The pod's named ports, name to number, for services whose target port is a name. Defaults to none.</summary>
    public IDictionary<string, int> Ports { get; } = new Dictionary<string, int>(StringComparer.Ordinal);

    /// <summary>Whether the pod takes new connections. Defaults to true.</summary>
    public bool Ready { get; set; } = true;

    /// <summary>The pod's share for weighted strategies, 1-10000. Defaults to 1.</summary>
    public int Weight { get; set; } = 1;

    /// <summary>The node the pod runs on, for traffic policy <c>Local</c>. Defaults to null.</summary>
    public string? NodeName { get; set; }

    /// <summary>The zone of the pod's node, for <c>PreferSameZone</c>. Defaults to null.</summary>
    public string? Zone { get; set; }
}

namespace FastProxy.Model;

/// <summary>The identity of a namespaced object (service or pod), as Kubernetes writes it: <c>namespace/name</c>.</summary>
/// <param name="Namespace">The namespace; <c>default</c> when the user gives none.</param>
/// <param name="Name">The object's name within its namespace.</param>
public readonly record struct NamespacedName(string Namespace, string Name)
{
    /// <summary>The namespace objects land in when none is given, as in Kubernetes.</summary>
    public const string DefaultNamespace = "default";

    /// <summary>Returns <c>namespace/name</c>.</summary>
    public override string ToString() => $"{Namespace}/{Name}";
}

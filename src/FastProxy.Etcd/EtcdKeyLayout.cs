using FastProxy.Manifests.Mapping;
using FastProxy.Manifests;
using FastProxy.Model;

namespace FastProxy.Etcd;

/// <summary>
/// Where each object lives in etcd: one key per object, <c>PREFIX KIND/NAMESPACE/NAME</c>, with the kinds
/// <c>services</c>, <c>pods</c>, <c>endpointslices</c> and <c>endpoints</c>, e.g.
/// <c>/fastproxy/pods/default/web-1</c>. The value is the object's Kubernetes manifest (JSON or YAML), read
/// exactly as a manifest file is; its kind, namespace and name must be the key's.
/// </summary>
public static class EtcdKeyLayout
{
    /// <summary>The default key prefix, <c>/fastproxy/</c>.</summary>
    public const string DefaultPrefix = "/fastproxy/";

    /// <summary>Returns the key of an object.</summary>
    /// <param name="prefix">The key prefix, ending with <c>/</c>.</param>
    /// <param name="kind">The object's kind.</param>
    /// <param name="id">The object's namespace and name.</param>
    /// <returns>The key, such as <c>/fastproxy/services/default/web</c>.</returns>
    public static string Key(string prefix, ManifestObjectKind kind, NamespacedName id)
    {
        ValidatePrefix(prefix, nameof(prefix));
        return $"{prefix}{KindNames.Resource(kind)}/{id.Namespace}/{id.Name}";
    }

    /// <summary>Reads a key back into a kind and an object id; false for a key of another shape.</summary>
    internal static bool TryParse(string prefix, string key, out ManifestObjectKind kind, out NamespacedName id)
    {
        kind = default;
        id = default;
        if (!key.StartsWith(prefix, StringComparison.Ordinal))
        {
            return false;
        }

        var parts = key[prefix.Length..].Split('/');
        if (parts.Length != 3 || parts[1].Length == 0 || parts[2].Length == 0)
        {
            return false;
        }

        ManifestObjectKind? parsed = parts[0] switch
        {
            "services" => ManifestObjectKind.Service,
            "pods" => ManifestObjectKind.Pod,
            "endpointslices" => ManifestObjectKind.EndpointSlice,
            "endpoints" => ManifestObjectKind.Endpoints,
            _ => null,
        };
        if (parsed is not { } k)
        {
            return false;
        }

        kind = k;
        id = new NamespacedName(parts[1], parts[2]);
        return true;
    }

    internal static void ValidatePrefix(string prefix, string name)
    {
        if (string.IsNullOrEmpty(prefix) || !prefix.StartsWith('/') || !prefix.EndsWith('/'))
        {
            throw new ArgumentException($"{name}: expected a key prefix that starts and ends with '/' (such as {DefaultPrefix}), got \"{prefix}\".", name);
        }
    }
}

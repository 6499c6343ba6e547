using FastProxy.Manifests;
using FastProxy.Manifests.Mapping;
using FastProxy.Model;
using Google.Protobuf;

namespace FastProxy.Etcd;

/// <summary>One object read from a key: its kind, id, model, and the value it came from (to skip re-puts of the same bytes).</summary>
internal sealed record EtcdObject(ManifestObjectKind Kind, NamespacedName Id, object Model, ByteString Value);

/// <summary>
/// Reads one etcd value through FastProxy.Manifests, as a file named after its key: the same validation,
/// the same annotations, the same diagnostics (key, field path, reason). The object must be the one the
/// key names, so two keys can never fight over one object.
/// </summary>
internal static class EtcdObjectReader
{
    /// <summary>The outcome: an object; or none, when the value stands for no endpoint (a pod not yet running); or errors.</summary>
    public readonly record struct Result(EtcdObject? Object, IReadOnlyList<string> Errors)
    {
        public bool IsError => Errors.Count > 0;
    }

    public static Result Read(string prefix, string key, ByteString value, ManifestReadOptions options)
    {
        if (!EtcdKeyLayout.TryParse(prefix, key, out var kind, out var id))
        {
            return Error($"{key}: not a FastProxy key: expected {prefix}{{services|pods|endpointslices|endpoints}}/NAMESPACE/NAME");
        }

        var set = ManifestReader.Parse(value.ToStringUtf8(), key, options);
        if (set.HasErrors)
        {
            return new Result(null, [.. set.Diagnostics.Where(d => d.Severity == ManifestSeverity.Error).Select(d => d.ToString())]);
        }

        var objects = CatalogObjects.All(set);
        if (objects.Count > 1)
        {
            return Error($"{key}: holds {objects.Count} objects; one key holds one object");
        }

        if (objects.Count == 0)
        {
            // A pod that is not running or has no IP (or an FQDN slice) loads with a warning and no object:
            // it is no endpoint, as in a file. An empty value is an error.
            return set.Diagnostics.IsEmpty
                ? Error($"{key}: the value holds no object; expected one {kind} manifest")
                : new Result(null, []);
        }

        var (actualKind, actualId, model) = objects[0];
        if (actualKind != kind || actualId != id)
        {
            return Error($"{key}: metadata: the value is {actualKind} {actualId}, but the key names {kind} {id}");
        }

        return new Result(new EtcdObject(kind, id, model, value), []);
    }

    private static Result Error(string message) => new(null, [message]);
}

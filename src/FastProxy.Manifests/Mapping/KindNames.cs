namespace FastProxy.Manifests.Mapping;

/// <summary>Kinds as manifests spell them, as the catalog names objects, and the API version each must carry.</summary>
internal static class KindNames
{
    public static readonly string[] All = ["Service", "Pod", "Endpoints", "EndpointSlice"];

    public static ManifestObjectKind? Parse(string kind) => kind switch
    {
        "Service" => ManifestObjectKind.Service,
        "Pod" => ManifestObjectKind.Pod,
        "Endpoints" => ManifestObjectKind.Endpoints,
        "EndpointSlice" => ManifestObjectKind.EndpointSlice,
        _ => null,
    };

    /// <summary>The kind as manifests and the API spell it: <c>Service</c>, <c>Pod</c>, <c>EndpointSlice</c>, <c>Endpoints</c>.</summary>
    public static string Name(ManifestObjectKind kind) => kind switch
    {
        ManifestObjectKind.Service => "Service",
        ManifestObjectKind.Pod => "Pod",
        ManifestObjectKind.EndpointSlice => "EndpointSlice",
        _ => "Endpoints",
    };

    public static string ApiVersion(ManifestObjectKind kind) => kind == ManifestObjectKind.EndpointSlice ? "discovery.k8s.io/v1" : "v1";

    /// <summary>The word the catalog's validation errors start with: <c>service</c>, <c>pod</c>, <c>endpointslice</c>, <c>endpoints</c>.</summary>
    public static string Subject(ManifestObjectKind kind) => kind switch
    {
        ManifestObjectKind.Service => "service",
        ManifestObjectKind.Pod => "pod",
        ManifestObjectKind.EndpointSlice => "endpointslice",
        _ => "endpoints",
    };

    /// <summary>The API's resource name, also the path segment etcd keys use: <c>services</c>, <c>pods</c>, <c>endpointslices</c>, <c>endpoints</c>.</summary>
    public static string Resource(ManifestObjectKind kind) => kind switch
    {
        ManifestObjectKind.Service => "services",
        ManifestObjectKind.Pod => "pods",
        ManifestObjectKind.EndpointSlice => "endpointslices",
        _ => "endpoints",
    };

    public static string Plural(ManifestObjectKind kind) => kind switch
    {
        ManifestObjectKind.Service => "Services",
        ManifestObjectKind.Pod => "Pods",
        ManifestObjectKind.EndpointSlice => "EndpointSlices",
        _ => "Endpoints",
    };
}

namespace FastProxy.Etcd;

/// <summary>What an <see cref="EtcdPodRegistration"/> registers, where, and for how long it outlives its pod.</summary>
public sealed class EtcdPodRegistrationOptions
{
    /// <summary>The etcd client URL (v3 gRPC API), such as <c>http://127.0.0.1:2379</c>.</summary>
    public Uri Endpoint { get; set; } = new("http://127.0.0.1:2379");

    /// <summary>The key prefix the sidecars watch; default <c>/fastproxy/</c>.</summary>
    public string Prefix { get; set; } = EtcdKeyLayout.DefaultPrefix;

    /// <summary>The pod's manifest (YAML or JSON): a running Pod with <c>status.podIP</c>, read as a manifest file is.</summary>
    public string Manifest { get; set; } = string.Empty;

    /// <summary>The namespace when the manifest gives none.</summary>
    public string DefaultNamespace { get; set; } = Model.NamespacedName.DefaultNamespace;

    /// <summary>
    /// The lease's time to live, in whole seconds (at least 2): how long the pod stays registered after its
    /// process dies without deregistering. It is kept alive every third of it. Default 10 s.
    /// </summary>
    public TimeSpan Ttl { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>The first wait after a failure to reach etcd; it doubles up to <see cref="MaxRetryDelay"/>.</summary>
    public TimeSpan MinRetryDelay { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>The longest wait between two attempts to register.</summary>
    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>The deadline of one request to etcd.</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(5);
}

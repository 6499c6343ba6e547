namespace FastProxy.Etcd;

/// <summary>Where an <see cref="EtcdCatalogSource"/> reads the catalog from, and how it retries.</summary>
public sealed class EtcdCatalogOptions
{
    /// <summary>The etcd client URL (v3 gRPC API), such as <c>http://127.0.0.1:2379</c>.</summary>
    public Uri Endpoint { get; set; } = new("http://127.0.0.1:2379");

    /// <summary>The key prefix the objects live under (see <see cref="EtcdKeyLayout"/>); default <c>/fastproxy/</c>.</summary>
    public string Prefix { get; set; } = EtcdKeyLayout.DefaultPrefix;

    /// <summary>The namespace of objects whose <c>metadata.namespace</c> is absent, as for manifest files.</summary>
    public string DefaultNamespace { get; set; } = Model.NamespacedName.DefaultNamespace;

    /// <summary>The first wait after a failed request or a lost watch; it doubles up to <see cref="MaxRetryDelay"/>.</summary>
    public TimeSpan MinRetryDelay { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>The longest wait between two attempts to reach etcd.</summary>
    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>The deadline of one unary request (the list); the watch itself has none.</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(10);

    internal void Validate()
    {
        EtcdConnection.ValidateEndpoint(Endpoint, nameof(Endpoint));
        EtcdKeyLayout.ValidatePrefix(Prefix, nameof(Prefix));
        if (string.IsNullOrWhiteSpace(DefaultNamespace))
        {
            throw new ArgumentException("DefaultNamespace: expected a namespace name, got an empty one.", nameof(DefaultNamespace));
        }

        if (MinRetryDelay <= TimeSpan.Zero || MaxRetryDelay < MinRetryDelay)
        {
            throw new ArgumentOutOfRangeException(nameof(MinRetryDelay), $"MinRetryDelay ({MinRetryDelay}) must be more than 0 and at most MaxRetryDelay ({MaxRetryDelay}).");
        }

        if (RequestTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(RequestTimeout), RequestTimeout, "RequestTimeout must be more than 0.");
        }
    }
}

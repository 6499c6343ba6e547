using System.Collections.Immutable;
using FastProxy.Catalog;
using FastProxy.Kubernetes.Mapping;
using FastProxy.Kubernetes.Watching;
using FastProxy.Manifests;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace FastProxy.Kubernetes;

/// <summary>
/// Feeds a <see cref="ServiceCatalog"/> from the Kubernetes API: Services, and EndpointSlices or Pods
/// (<see cref="KubernetesSourceOptions.Mode"/>), each listed and then watched, mapped exactly as
/// manifest files are (FastProxy.Manifests). While the API server is unreachable the catalog keeps its
/// last good state; invalid objects are logged with their field path and skipped.
/// </summary>
public sealed class KubernetesCatalogSource : IAsyncDisposable
{
    /// <summary>Objects per list page, as client-go's pager: bounds one response on a large cluster.</summary>
    private const int PageSize = 500;

    private readonly IKubernetes _client;
    private readonly bool _ownsClient;
    private readonly KubernetesSourceOptions _options;
    private readonly ILogger _logger;
    private readonly List<(WatchState State, Func<CancellationToken, Task> Run)> _watchers = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _lock = new();
    private Task[]? _running;

    /// <summary>Creates a source over a client the caller owns (and disposes).</summary>
    /// <param name="client">The Kubernetes client: credentials, server, timeouts.</param>
    /// <param name="catalog">The catalog to feed.</param>
    /// <param name="options">Settings; defaults apply when null.</param>
    /// <param name="logger">Where list, watch and object errors go; none when null.</param>
    public KubernetesCatalogSource(IKubernetes client, ServiceCatalog catalog, KubernetesSourceOptions? options = null, ILogger? logger = null)
        : this(client, ownsClient: false, catalog, options, logger)
    {
    }

    private KubernetesCatalogSource(IKubernetes client, bool ownsClient, ServiceCatalog catalog, KubernetesSourceOptions? options, ILogger? logger)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(catalog);
        _options = options ?? new KubernetesSourceOptions();
        _options.Validate();
        _client = client;
        _ownsClient = ownsClient;
        _logger = logger ?? NullLogger.Instance;
        var mapper = new ObjectMapper(_options.Mode, _logger);
        var mirror = new CatalogMirror(catalog, _logger);
        var namespaces = _options.Namespaces.Count == 0 ? [null] : _options.Namespaces.Distinct(StringComparer.Ordinal).Select(static n => (string?)n).ToArray();
        foreach (var ns in namespaces)
        {
            Add<V1Service, V1ServiceList>(ManifestObjectKind.Service, ns, ServiceCall(ns), mapper, mirror);
            Add<V1EndpointSlice, V1EndpointSliceList>(ManifestObjectKind.EndpointSlice, ns, EndpointSliceCall(ns), mapper, mirror);
            if (_options.Mode == KubernetesEndpointsMode.Pods)
            {
                Add<V1Pod, V1PodList>(ManifestObjectKind.Pod, ns, PodCall(ns), mapper, mirror);
            }
        }
    }

    /// <summary>
    /// Creates a source with its own client, from <see cref="KubernetesSourceOptions.KubeconfigPath"/> and
    /// <see cref="KubernetesSourceOptions.Context"/>: that kubeconfig file when given; else, in a pod and with no
    /// context asked for, the service account; else <c>$KUBECONFIG</c> or <c>~/.kube/config</c>.
    /// </summary>
    /// <param name="catalog">The catalog to feed.</param>
    /// <param name="options">Settings; defaults apply when null.</param>
    /// <param name="logger">Where list, watch and object errors go; none when null.</param>
    /// <returns>The source, not started.</returns>
    /// <exception cref="k8s.Exceptions.KubeConfigException">No usable credentials: the kubeconfig is missing or invalid, or names an unknown context.</exception>
    public static KubernetesCatalogSource Create(ServiceCatalog catalog, KubernetesSourceOptions? options = null, ILogger? logger = null)
    {
        options ??= new KubernetesSourceOptions();
        var client = new k8s.Kubernetes(KubernetesConnection.CreateConfiguration(options.KubeconfigPath, options.Context));
        return new KubernetesCatalogSource(client, ownsClient: true, catalog, options, logger);
    }

    /// <summary>What the source knows of its API server now.</summary>
    public KubernetesSourceStatus Status => new()
    {
        Connected = _watchers.TrueForAll(static w => w.State.Connected),
        Synced = _watchers.TrueForAll(static w => w.State.Synced),
        Relists = _watchers.Sum(static w => w.State.Relists),
        ResourceVersions = _watchers.Where(static w => w.State.ResourceVersion is not null)
            .ToImmutableDictionary(static w => w.State.Name, static w => w.State.ResourceVersion!, StringComparer.Ordinal),
        LastError = _watchers.Select(static w => w.State.LastError).LastOrDefault(static e => e is not null),
    };

    /// <summary>Starts listing and watching in the background; returns at once. Calling it again does nothing.</summary>
    public void Start()
    {
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_stop.IsCancellationRequested, this);
            _running ??= [.. _watchers.Select(w => Task.Run(() => w.Run(_stop.Token)))];
        }
    }

    /// <summary>Waits until every watched resource was listed and applied once (the catalog then mirrors the cluster).</summary>
    /// <param name="cancellationToken">Ends the wait (not the source).</param>
    /// <returns>A task that completes when the source is in sync.</returns>
    /// <exception cref="InvalidOperationException">The source was not started.</exception>
    public Task WaitForSyncAsync(CancellationToken cancellationToken = default)
    {
        if (Volatile.Read(ref _running) is null)
        {
            throw new InvalidOperationException($"Call {nameof(Start)} first.");
        }

        return Task.WhenAll(_watchers.Select(static w => w.State.FirstList)).WaitAsync(cancellationToken);
    }

    /// <summary>Stops watching; the catalog keeps what it holds.</summary>
    /// <returns>A task that completes when every watch has ended.</returns>
    public async Task StopAsync()
    {
        Task[]? running;
        lock (_lock)
        {
            running = _running;
            if (!_stop.IsCancellationRequested)
            {
                _stop.Cancel();
            }
        }

        if (running is not null)
        {
            await Task.WhenAll(running).ConfigureAwait(false);
        }
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        _stop.Dispose();
        if (_ownsClient)
        {
            _client.Dispose();
        }
    }

    private void Add<T, TList>(ManifestObjectKind kind, string? ns, ResourceCall<T, TList> call, ObjectMapper mapper, CatalogMirror mirror)
        where T : IKubernetesObject<V1ObjectMeta>
        where TList : IKubernetesObject<V1ListMeta>, IItems<T>
    {
        var watcher = new ResourceWatcher<T, TList>(kind, ns, call, mapper, mirror, _options, _logger);
        _watchers.Add((watcher.State, watcher.RunAsync));
    }

    private ResourceCall<V1Service, V1ServiceList> ServiceCall(string? ns)
    {
        var api = _client.CoreV1;
        var selector = _options.ServiceLabelSelector;
        return ns is null
            ? new(
                (next, ct) => api.ListServiceForAllNamespacesAsync(continueParameter: next, labelSelector: selector, limit: PageSize, cancellationToken: ct),
                (rv, timeout, onError, ct) => api.WatchListServiceForAllNamespacesAsync(allowWatchBookmarks: true, labelSelector: selector, resourceVersion: rv, timeoutSeconds: timeout, onError: onError, cancellationToken: ct))
            : new(
                (next, ct) => api.ListNamespacedServiceAsync(ns, continueParameter: next, labelSelector: selector, limit: PageSize, cancellationToken: ct),
                (rv, timeout, onError, ct) => api.WatchListNamespacedServiceAsync(ns, allowWatchBookmarks: true, labelSelector: selector, resourceVersion: rv, timeoutSeconds: timeout, onError: onError, cancellationToken: ct));
    }

    private ResourceCall<V1EndpointSlice, V1EndpointSliceList> EndpointSliceCall(string? ns)
    {
        var api = _client.DiscoveryV1;

        // Pods mode computes the controller's slices itself: leave them on the server.
        var selector = _options.Mode == KubernetesEndpointsMode.Pods ? $"{ObjectMapper.ManagedByLabel}!={ObjectMapper.EndpointSliceController}" : null;
        return ns is null
            ? new(
                (next, ct) => api.ListEndpointSliceForAllNamespacesAsync(continueParameter: next, labelSelector: selector, limit: PageSize, cancellationToken: ct),
                (rv, timeout, onError, ct) => api.WatchListEndpointSliceForAllNamespacesAsync(allowWatchBookmarks: true, labelSelector: selector, resourceVersion: rv, timeoutSeconds: timeout, onError: onError, cancellationToken: ct))
            : new(
                (next, ct) => api.ListNamespacedEndpointSliceAsync(ns, continueParameter: next, labelSelector: selector, limit: PageSize, cancellationToken: ct),
                (rv, timeout, onError, ct) => api.WatchListNamespacedEndpointSliceAsync(ns, allowWatchBookmarks: true, labelSelector: selector, resourceVersion: rv, timeoutSeconds: timeout, onError: onError, cancellationToken: ct));
    }

    private ResourceCall<V1Pod, V1PodList> PodCall(string? ns)
    {
        var api = _client.CoreV1;
        return ns is null
            ? new(
                (next, ct) => api.ListPodForAllNamespacesAsync(continueParameter: next, limit: PageSize, cancellationToken: ct),
                (rv, timeout, onError, ct) => api.WatchListPodForAllNamespacesAsync(allowWatchBookmarks: true, resourceVersion: rv, timeoutSeconds: timeout, onError: onError, cancellationToken: ct))
            : new(
                (next, ct) => api.ListNamespacedPodAsync(ns, continueParameter: next, limit: PageSize, cancellationToken: ct),
                (rv, timeout, onError, ct) => api.WatchListNamespacedPodAsync(ns, allowWatchBookmarks: true, resourceVersion: rv, timeoutSeconds: timeout, onError: onError, cancellationToken: ct));
    }
}

using System.Net;
using FastProxy.Kubernetes.Mapping;
using FastProxy.Manifests;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Logging;

namespace FastProxy.Kubernetes.Watching;

/// <summary>
/// List-then-watch for one resource, as client-go's reflector: list and apply the whole list as one
/// update, watch from the list's resourceVersion with bookmarks, resume from the last resourceVersion
/// seen whenever the watch ends, list again when that version is gone (410, as a status or as an
/// ERROR event), and back off (doubling, capped) while the API server fails. Nothing here touches the
/// catalog on failure, so the last good state keeps serving.
/// </summary>
internal sealed class ResourceWatcher<T, TList>
    where T : IKubernetesObject<V1ObjectMeta>
    where TList : IKubernetesObject<V1ListMeta>, IItems<T>
{
    private readonly ManifestObjectKind _kind;
    private readonly string? _namespace;
    private readonly ResourceCall<T, TList> _call;
    private readonly ObjectMapper _mapper;
    private readonly CatalogMirror _mirror;
    private readonly KubernetesSourceOptions _options;
    private readonly ILogger _logger;
    private readonly WatchState _state;

    public ResourceWatcher(ManifestObjectKind kind, string? ns, ResourceCall<T, TList> call, ObjectMapper mapper, CatalogMirror mirror, KubernetesSourceOptions options, ILogger logger)
    {
        _kind = kind;
        _namespace = ns;
        _call = call;
        _mapper = mapper;
        _mirror = mirror;
        _options = options;
        _logger = logger;
        _state = new WatchState(ns is null ? ObjectMapper.KindPlural(kind) : $"{ObjectMapper.KindPlural(kind)}/{ns}");
    }

    public WatchState State => _state;

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        string? resourceVersion = null;
        var failures = 0;
        var relistsInARow = 0;
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                if (resourceVersion is null)
                {
                    resourceVersion = await ListAsync(cancellationToken).ConfigureAwait(false);
                    failures = 0;
                }

                var (events, gone) = await WatchAsync(resourceVersion, cancellationToken).ConfigureAwait(false);
                resourceVersion = _state.ResourceVersion ?? resourceVersion;
                if (gone)
                {
                    Relist(ref resourceVersion);

                    // A server that answers every fresh watch with 410 must not get a list per round trip.
                    if (events == 0 && ++relistsInARow > 1)
                    {
                        await Task.Delay(Backoff(relistsInARow - 1), cancellationToken).ConfigureAwait(false);
                    }

                    continue;
                }

                relistsInARow = 0;

                // A watch the server ends at once, with nothing in it, must not turn into a busy loop.
                failures = events > 0 ? 0 : failures + 1;
                if (failures > 0)
                {
                    await Task.Delay(Backoff(failures), cancellationToken).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                break;
            }
            catch (HttpOperationException ex) when (ex.Response?.StatusCode == HttpStatusCode.Gone && resourceVersion is not null)
            {
                // Our version is gone. (A 410 on a fresh list has no version of ours in it: it is a
                // failure like any other, backed off below, not a reason to list again at once.)
                Relist(ref resourceVersion);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                _state.Failed(ex);
                var delay = Backoff(++failures);
                KubernetesSourceLog.Unreachable(_logger, _state.Name, delay, ex);
                try
                {
                    await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
        }

        _state.Stopped();
    }

    private void Relist(ref string? resourceVersion)
    {
        KubernetesSourceLog.Relisting(_logger, _state.Name, resourceVersion);
        _state.Relisted();
        resourceVersion = null;
    }

    private async Task<string> ListAsync(CancellationToken cancellationToken)
    {
        // Page by page (client-go's pager): every page comes from the snapshot of the first, and a
        // continue token that expired meanwhile is a 410 like any other.
        var mapped = new List<MappedObject>();
        string? next = null;
        string version;
        do
        {
            var page = await _call.List(next, cancellationToken).ConfigureAwait(false);
            foreach (var item in page.Items ?? [])
            {
                mapped.Add(_mapper.Map(_kind, item));
            }

            version = page.Metadata?.ResourceVersion ?? string.Empty;
            next = page.Metadata?.ContinueProperty is { Length: > 0 } token ? token : null;
        }
        while (next is not null);

        _mirror.ApplyList(_kind, _namespace, mapped);
        _state.Listed(version);
        KubernetesSourceLog.Listed(_logger, _state.Name, mapped.Count, version);
        return version;
    }

    private async Task<(int Events, bool Gone)> WatchAsync(string resourceVersion, CancellationToken cancellationToken)
    {
        var gone = false;
        var events = 0;
        var timeout = (int)Math.Ceiling(_options.WatchTimeout.TotalSeconds);
        KubernetesSourceLog.Watching(_logger, _state.Name, resourceVersion);
        await foreach (var (type, item) in _call.Watch(resourceVersion, timeout, OnError, cancellationToken).ConfigureAwait(false))
        {
            events++;
            _state.Opened();
            if (item?.Metadata?.ResourceVersion is { Length: > 0 } version)
            {
                _state.Saw(version);
            }

            if (type is WatchEventType.Added or WatchEventType.Modified or WatchEventType.Deleted && item is not null)
            {
                _mirror.ApplyEvent(_mapper.Map(_kind, item), deleted: type == WatchEventType.Deleted);
            }
        }

        if (!gone)
        {
            // The server ended the watch (its timeout): the connection was good.
            _state.Opened();
        }

        return (events, gone);

        void OnError(Exception ex)
        {
            if (ex is KubernetesException { Status.Code: (int)HttpStatusCode.Gone })
            {
                gone = true;
                return;
            }

            // A line that is not an event, or an ERROR status other than 410: the stream goes on.
            KubernetesSourceLog.WatchError(_logger, _state.Name, ex.Message);
        }
    }

    private TimeSpan Backoff(int failures)
    {
        var delay = _options.InitialRetryDelay * Math.Pow(2, Math.Min(failures - 1, 16));
        return delay < _options.MaxRetryDelay ? delay : _options.MaxRetryDelay;
    }
}

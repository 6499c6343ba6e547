using FastProxy.Manifests.Mapping;
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
/// applied whenever the watch ends or breaks, list again when that version is gone (410, as a status
/// or as an ERROR event), and back off (doubling, capped) while the API server fails or keeps
/// answering 410. Nothing here touches the catalog on failure, so the last good state keeps serving.
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

    /// <summary>Where the next watch starts: the list's version, then each event's once applied; null to list.</summary>
    private string? _resumeFrom;

    public ResourceWatcher(ManifestObjectKind kind, string? ns, ResourceCall<T, TList> call, ObjectMapper mapper, CatalogMirror mirror, KubernetesSourceOptions options, ILogger logger)
    {
        _kind = kind;
        _namespace = ns;
        _call = call;
        _mapper = mapper;
        _mirror = mirror;
        _options = options;
        _logger = logger;
        _state = new WatchState(ns is null ? KindNames.Resource(kind) : $"{KindNames.Resource(kind)}/{ns}");
    }

    public WatchState State => _state;

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var failures = 0;
        var relistsInARow = 0;
        while (!cancellationToken.IsCancellationRequested)
        {
            TimeSpan pause;
            try
            {
                var from = _resumeFrom;
                if (from is null)
                {
                    from = await ListAsync(cancellationToken).ConfigureAwait(false);
                    failures = 0;
                }

                var (events, gone) = await WatchAsync(from, cancellationToken).ConfigureAwait(false);
                if (gone)
                {
                    pause = Relist(events, ref relistsInARow);
                }
                else
                {
                    relistsInARow = 0;

                    // A watch the server ends at once, with nothing in it, must not turn into a busy loop.
                    failures = events > 0 ? 0 : failures + 1;
                    pause = failures > 0 ? Backoff(failures) : TimeSpan.Zero;
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                break;
            }
            catch (HttpOperationException ex) when (ex.Response?.StatusCode == HttpStatusCode.Gone && _resumeFrom is not null)
            {
                // Our version is gone. (A 410 on a fresh list has no version of ours in it: it is a
                // failure like any other, backed off below, not a reason to list again at once.)
                pause = Relist(events: 0, ref relistsInARow);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                // _resumeFrom is the last event applied, so a broken watch resumes after it: resuming
                // from where the watch opened would replay events (an ADDED of a pod deleted since).
                _state.Failed(ex);
                pause = Backoff(++failures);
                KubernetesSourceLog.Unreachable(_logger, _state.Name, pause, ex);
            }

            if (pause > TimeSpan.Zero)
            {
                try
                {
                    await Task.Delay(pause, cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
        }

        _state.Stopped();
    }

    /// <summary>Forgets the version so the next round lists; returns how long to wait first.</summary>
    private TimeSpan Relist(int events, ref int relistsInARow)
    {
        KubernetesSourceLog.Relisting(_logger, _state.Name, _resumeFrom);
        _state.Relisted();
        _resumeFrom = null;

        // A server that answers every fresh watch with 410 (as a status or as an ERROR event) must
        // not get a list per round trip: the second relist in a row with no event between waits.
        return events == 0 && ++relistsInARow > 1 ? Backoff(relistsInARow - 1) : TimeSpan.Zero;
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
        _resumeFrom = version;
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
            if (type is WatchEventType.Added or WatchEventType.Modified or WatchEventType.Deleted && item is not null)
            {
                _mirror.ApplyEvent(_mapper.Map(_kind, item), deleted: type == WatchEventType.Deleted);
            }

            // Only now, once applied: a version recorded before would skip the event on resume if applying it threw.
            if (item?.Metadata?.ResourceVersion is { Length: > 0 } version)
            {
                _resumeFrom = version;
                _state.Saw(version);
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

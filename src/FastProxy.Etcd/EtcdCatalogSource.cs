using Etcdserverpb;
using FastProxy.Catalog;
using FastProxy.Manifests;
using FastProxy.Manifests.Mapping;
using Google.Protobuf;
using System.Threading.Channels;
using Grpc.Core;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace FastProxy.Etcd;

/// <summary>
/// Keeps a <see cref="ServiceCatalog"/> equal to the objects under a key prefix in etcd (v3 API): lists the
/// prefix at a revision R and applies it as one catalog version, then watches from R + 1 and applies each
/// watch response as one version. When etcd cannot be reached the catalog keeps its last good state
/// (nothing is removed) while the source retries with capped, jittered backoff and resumes the watch from
/// the last revision it applied; when that revision has been compacted it lists again and applies the
/// difference. A value that does not read as a valid manifest, or that the catalog refuses, is logged
/// with its key, field and reason and skipped: the key's last good version keeps serving.
/// </summary>
/// <remarks>
/// Every node that runs a source over the same etcd and prefix converges on the same objects, so
/// consistent-hashing strategies (<c>maglev</c>, <c>ring-hash</c>) pick the same endpoint for the same
/// client on every node without the nodes talking to each other. The source works as an
/// <see cref="IHostedService"/> (see <c>AddFastProxyEtcd</c>) or on its own with
/// <see cref="StartAsync"/> and <see cref="StopAsync"/>.
/// </remarks>
public sealed class EtcdCatalogSource : IHostedService, IAsyncDisposable
{
    // The most object changes applied as one catalog version; a larger flood becomes several versions.
    private const int MaxBatch = 10_000;

    private readonly ServiceCatalog _catalog;
    private readonly EtcdCatalogOptions _options;
    private readonly ManifestReadOptions _readOptions;
    private readonly ILogger _logger;
    private readonly TaskCompletionSource _synced = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Lock _statusLock = new();

    // What the catalog holds from etcd, by key; touched only by the run loop.
    private readonly Dictionary<string, EtcdObject> _objects = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _rejected = new(StringComparer.Ordinal);

    private EtcdConnection? _connection;
    private CancellationTokenSource? _stop;
    private Task? _run;
    private long _revision;
    private int _disposed;
    private EtcdSourceStatus _status;

    /// <summary>Creates a source that feeds <paramref name="catalog"/>; nothing happens until <see cref="StartAsync"/>.</summary>
    /// <param name="catalog">The catalog to keep equal to etcd. The source should be its only writer.</param>
    /// <param name="options">Where etcd is and which prefix to read.</param>
    /// <param name="loggerFactory">Where refused keys and connection changes are logged; none when null.</param>
    /// <exception cref="ArgumentException">An option is invalid (the message names it).</exception>
    public EtcdCatalogSource(ServiceCatalog catalog, EtcdCatalogOptions options, ILoggerFactory? loggerFactory = null)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _catalog = catalog;
        _options = options;
        _readOptions = new ManifestReadOptions { DefaultNamespace = options.DefaultNamespace };
        _logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger<EtcdCatalogSource>();
        _status = new EtcdSourceStatus { Endpoint = options.Endpoint, Prefix = options.Prefix };
    }

    /// <summary>The connection state, revision and last error, as of now.</summary>
    public EtcdSourceStatus Status
    {
        get
        {
            lock (_statusLock)
            {
                return _status;
            }
        }
    }

    /// <summary>Completes once the first list from etcd has been applied to the catalog.</summary>
    public Task Synced => _synced.Task;

    /// <summary>Starts listing and watching in the background; returns at once (etcd may still be unreachable; see <see cref="Synced"/>).</summary>
    /// <param name="cancellationToken">Not used: the source runs until <see cref="StopAsync"/>.</param>
    /// <returns>A completed task.</returns>
    /// <exception cref="InvalidOperationException">The source was started already.</exception>
    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (_run is not null)
        {
            throw new InvalidOperationException("The etcd source is started already.");
        }

        _connection = new EtcdConnection(_options.Endpoint);
        _stop = new CancellationTokenSource();
        _run = Task.Run(() => RunAsync(_stop.Token), CancellationToken.None);
        return Task.CompletedTask;
    }

    /// <summary>Stops watching. The catalog keeps what it holds.</summary>
    /// <param name="cancellationToken">Gives up waiting for the background loop.</param>
    /// <returns>A task that completes when the source has stopped.</returns>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_run is null || _stop is null)
        {
            return;
        }

        await _stop.CancelAsync().ConfigureAwait(false);
        await _run.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Stops the source and closes its connection; a second call does nothing.</summary>
    /// <returns>A task that completes when the source is disposed.</returns>
    public async ValueTask DisposeAsync()
    {
        // A container that registered the source as itself and as IHostedService disposes it twice.
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        await StopAsync(CancellationToken.None).ConfigureAwait(false);
        _connection?.Dispose();
        _stop?.Dispose();
    }

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        var delay = new RetryDelay(_options.MinRetryDelay, _options.MaxRetryDelay);
        var mustList = true;
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                if (mustList)
                {
                    await ListAsync(cancellationToken).ConfigureAwait(false);
                    mustList = false;
                }

                var end = await WatchAsync(delay, cancellationToken).ConfigureAwait(false);
                mustList = end != WatchEnd.Resume;
                if (end == WatchEnd.ListAfterBackoff)
                {
                    // etcd canceled the watch for its own reason (auth change, server-side cancel): were it to
                    // do so again at once, listing at once would read the whole prefix in a tight loop.
                    await Task.Delay(delay.Next(), cancellationToken).ConfigureAwait(false);
                }
            }
            catch (Exception ex) when (cancellationToken.IsCancellationRequested && ex is OperationCanceledException or RpcException { StatusCode: StatusCode.Cancelled })
            {
                // A stop: gRPC reports the stop token's cancellation as Cancelled; not an outage.
                break;
            }
            catch (Exception ex) when (ex is RpcException or HttpRequestException or IOException or OperationCanceledException or InvalidOperationException)
            {
                // Whatever went wrong talking to etcd: keep serving what we have, try again later.
                var wait = delay.Next();
                var message = ex is RpcException rpc ? $"{rpc.StatusCode}: {rpc.Status.Detail}" : ex.Message;
                UpdateStatus(s => new EtcdSourceStatus
                {
                    Endpoint = s.Endpoint, Prefix = s.Prefix, Connected = false, Synced = s.Synced, Revision = s.Revision, Objects = s.Objects,
                    RejectedKeys = s.RejectedKeys, Lists = s.Lists, LastError = message, LastErrorAt = DateTimeOffset.UtcNow,
                });
                EtcdLog.Unreachable(_logger, _options.Endpoint, message, _catalog.Current.Version, (long)wait.TotalMilliseconds);
                try
                {
                    await Task.Delay(wait, cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
        }

        UpdateStatus(s => With(s, connected: false));
    }

    /// <summary>Reads the whole prefix at one revision and applies the difference from what the catalog holds.</summary>
    private async Task ListAsync(CancellationToken cancellationToken)
    {
        var response = await _connection!.Kv.RangeAsync(
            new RangeRequest { Key = ByteString.CopyFromUtf8(_options.Prefix), RangeEnd = EtcdConnection.RangeEnd(_options.Prefix) },
            deadline: DateTime.UtcNow + _options.RequestTimeout,
            cancellationToken: cancellationToken).ConfigureAwait(false);

        var changes = new Dictionary<string, EtcdObject?>(StringComparer.Ordinal);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var kv in response.Kvs)
        {
            var key = kv.Key.ToStringUtf8();
            seen.Add(key);
            Read(key, kv.Value, changes);
        }

        foreach (var key in _objects.Keys)
        {
            if (!seen.Contains(key))
            {
                changes[key] = null;
            }
        }

        foreach (var key in _rejected.Keys.Where(k => !seen.Contains(k)).ToList())
        {
            _rejected.Remove(key);
        }

        var applied = Apply(changes);
        _revision = response.Header.Revision;
        EtcdLog.Listed(_logger, _options.Endpoint, _options.Prefix, _revision, _objects.Count, applied);
        UpdateStatus(s => new EtcdSourceStatus
        {
            Endpoint = s.Endpoint, Prefix = s.Prefix, Connected = true, Synced = true, Revision = _revision, Objects = _objects.Count,
            RejectedKeys = _rejected.Count, Lists = s.Lists + 1, LastError = s.LastError, LastErrorAt = s.LastErrorAt,
        });
        _synced.TrySetResult();
    }

    /// <summary>Watches from the revision after the last applied; returns how the watch ended (a clean end resumes; compaction or a cancel lists again).</summary>
    private async Task<WatchEnd> WatchAsync(RetryDelay delay, CancellationToken cancellationToken)
    {
        using var call = _connection!.Watch.Watch(cancellationToken: cancellationToken);
        await call.RequestStream.WriteAsync(new WatchRequest
        {
            CreateRequest = new WatchCreateRequest
            {
                Key = ByteString.CopyFromUtf8(_options.Prefix),
                RangeEnd = EtcdConnection.RangeEnd(_options.Prefix),
                StartRevision = _revision + 1,
                // Progress notifications move the resume point forward on a quiet prefix, so a resume after a
                // long quiet spell is less likely to land on a compacted revision.
                ProgressNotify = true,
            },
        }, cancellationToken).ConfigureAwait(false);

        // A pump reads the stream into a queue and the loop below applies everything queued as one catalog
        // version: idle, each change applies at once; under a flood (thousands of pods registering), the
        // versions batch up by themselves instead of rebuilding the routes once per event.
        var queue = Channel.CreateUnbounded<WatchResponse>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        var pump = PumpAsync(call.ResponseStream, queue.Writer, cancellationToken);
        try
        {
            while (await queue.Reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
            {
                var changes = new Dictionary<string, EtcdObject?>(StringComparer.Ordinal);
                var last = _revision;
                var end = WatchEnd.Resume;
                while (end == WatchEnd.Resume && changes.Count < MaxBatch && queue.Reader.TryRead(out var response))
                {
                    end = Handle(response, delay, changes, ref last);
                }

                if (changes.Count > 0)
                {
                    var applied = Apply(changes);
                    EtcdLog.Applied(_logger, last, applied, _catalog.Current.Version);
                }

                _revision = last;
                UpdateStatus(s => With(s, connected: true));
                if (end != WatchEnd.Resume)
                {
                    return end;
                }
            }
        }
        finally
        {
            // Leaving early (a relist, a stop): end the call so the pump ends too, and observe its outcome.
            call.Dispose();
            try
            {
                await pump.ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is RpcException or OperationCanceledException or IOException or HttpRequestException)
            {
                // Rethrown below when it is why the stream ended; otherwise it is the disposal's own cancellation.
            }
        }

        // The stream ended: an error is rethrown to the retry loop; a clean end resumes from where we are.
        await pump.ConfigureAwait(false);
        return WatchEnd.Resume;
    }

    private static async Task PumpAsync(IAsyncStreamReader<WatchResponse> stream, ChannelWriter<WatchResponse> writer, CancellationToken cancellationToken)
    {
        try
        {
            while (await stream.MoveNext(cancellationToken).ConfigureAwait(false))
            {
                writer.TryWrite(stream.Current);
            }
        }
        finally
        {
            writer.TryComplete();
        }
    }

    /// <summary>Folds one watch response into the batch; says whether the watch goes on or the source must list again.</summary>
    private WatchEnd Handle(WatchResponse response, RetryDelay delay, Dictionary<string, EtcdObject?> changes, ref long last)
    {
        if (response.CompactRevision > 0)
        {
            // The resume point is gone for good: only a list can catch up, and waiting would not help.
            EtcdLog.Compacted(_logger, _options.Endpoint, _revision + 1, response.CompactRevision);
            return WatchEnd.ListNow;
        }

        if (response.Canceled)
        {
            EtcdLog.WatchCanceled(_logger, _options.Endpoint, response.CancelReason);
            return WatchEnd.ListAfterBackoff;
        }

        if (response.Created)
        {
            delay.Reset();
            EtcdLog.Watching(_logger, _options.Endpoint, _options.Prefix, _revision + 1);
            return WatchEnd.Resume;
        }

        if (response.Events.Count == 0)
        {
            // A progress notification: every event up to the header's revision has been sent.
            last = Math.Max(last, response.Header.Revision);
            return WatchEnd.Resume;
        }

        foreach (var e in response.Events)
        {
            var key = e.Kv.Key.ToStringUtf8();
            if (e.Type == Mvccpb.Event.Types.EventType.Delete)
            {
                _rejected.Remove(key);
                changes[key] = null;
            }
            else
            {
                Read(key, e.Kv.Value, changes);
            }

            last = Math.Max(last, e.Kv.ModRevision);
        }

        return WatchEnd.Resume;
    }

    /// <summary>Reads one value into <paramref name="changes"/>: the object, a removal (no endpoint), or nothing (refused, or the same bytes as applied).</summary>
    private void Read(string key, ByteString value, Dictionary<string, EtcdObject?> changes)
    {
        var result = EtcdObjectReader.Read(_options.Prefix, key, value, _readOptions);
        if (result.IsError)
        {
            _rejected[key] = string.Join("; ", result.Errors);
            foreach (var error in result.Errors)
            {
                EtcdLog.KeyRefused(_logger, error);
            }

            changes.Remove(key);   // an earlier event of the same batch for this key is superseded, and refused too
            return;
        }

        _rejected.Remove(key);
        if (result.Object is { } next && _objects.TryGetValue(key, out var current) && current.Value.Equals(next.Value))
        {
            changes.Remove(key);
            return;
        }

        changes[key] = result.Object;
    }

    /// <summary>
    /// Applies the changes as one catalog version. When the catalog refuses the batch (a virtual IP or node
    /// port clash, an unknown balancer...), applies them one by one so that only the refused keys are
    /// skipped. Returns how many changes took effect.
    /// </summary>
    private int Apply(Dictionary<string, EtcdObject?> changes)
        => CatalogObjects.ApplyIsolatingRefusals(
            _catalog,
            changes.Where(c => c.Value is not null || _objects.ContainsKey(c.Key)).ToList(),
            c => c.Value is { } next ? (next.Kind, next.Id, next.Model) : (_objects[c.Key].Kind, _objects[c.Key].Id, null),
            Commit,
            (c, ex) => Refused(c.Key, string.Join("; ", ex.Errors.Select(e => e.ToString()))));

    private void Commit(IReadOnlyList<KeyValuePair<string, EtcdObject?>> changes)
    {
        foreach (var (key, next) in changes)
        {
            if (next is null)
            {
                _objects.Remove(key);
            }
            else
            {
                _objects[key] = next;
            }
        }
    }

    private void Refused(string key, string errors)
    {
        _rejected[key] = errors;
        EtcdLog.CatalogRefused(_logger, key, errors);
    }

    private EtcdSourceStatus With(EtcdSourceStatus s, bool connected) => new()
    {
        Endpoint = s.Endpoint, Prefix = s.Prefix, Connected = connected, Synced = s.Synced, Revision = _revision, Objects = _objects.Count,
        RejectedKeys = _rejected.Count, Lists = s.Lists, LastError = s.LastError, LastErrorAt = s.LastErrorAt,
    };

    private void UpdateStatus(Func<EtcdSourceStatus, EtcdSourceStatus> change)
    {
        lock (_statusLock)
        {
            _status = change(_status);
        }
    }

    /// <summary>How a watch ended, or (from <see cref="Handle"/>) that it goes on.</summary>
    private enum WatchEnd
    {
        /// <summary>Goes on, or ended cleanly: watch again from the last applied revision.</summary>
        Resume,

        /// <summary>Compacted past the resume point: list again at once.</summary>
        ListNow,

        /// <summary>Canceled by etcd: list again after the retry backoff.</summary>
        ListAfterBackoff,
    }
}

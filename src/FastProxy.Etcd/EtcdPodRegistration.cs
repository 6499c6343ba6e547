using Etcdserverpb;
using FastProxy.Manifests;
using FastProxy.Model;
using Google.Protobuf;
using Grpc.Core;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace FastProxy.Etcd;

/// <summary>
/// Registers a pod in etcd under a lease, the way a pod announces itself: puts its manifest at
/// <c>PREFIX pods/NAMESPACE/NAME</c> attached to a lease of <see cref="EtcdPodRegistrationOptions.Ttl"/>,
/// keeps the lease alive, and registers again (new lease, same key) when the lease was lost, for example
/// after etcd was unreachable for longer than the TTL. Disposing revokes the lease, so the pod leaves every
/// node at once; a pod whose process dies without disposing leaves when its lease expires.
/// </summary>
public sealed class EtcdPodRegistration : IAsyncDisposable
{
    private readonly EtcdPodRegistrationOptions _options;
    private readonly ByteString _key;
    private readonly ByteString _value;
    private readonly long _ttlSeconds;
    private readonly ILogger _logger;
    private readonly TaskCompletionSource _registered = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private EtcdConnection? _connection;
    private CancellationTokenSource? _stop;
    private Task? _run;
    private long _leaseId;
    private int _disposed;

    /// <summary>Checks the manifest; nothing is sent until <see cref="Start"/>.</summary>
    /// <param name="options">The pod's manifest, where to register it and the lease's TTL.</param>
    /// <param name="loggerFactory">Where registrations and losses are logged; none when null.</param>
    /// <exception cref="ArgumentException">An option is invalid, or the manifest is not one running Pod with an IP (the message gives each diagnostic).</exception>
    public EtcdPodRegistration(EtcdPodRegistrationOptions options, ILoggerFactory? loggerFactory = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        EtcdConnection.ValidateEndpoint(options.Endpoint, nameof(options.Endpoint));
        EtcdKeyLayout.ValidatePrefix(options.Prefix, nameof(options.Prefix));
        if (options.Ttl < TimeSpan.FromSeconds(2) || options.Ttl > TimeSpan.FromDays(1))
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.Ttl, "Ttl: expected 2 s to 1 day.");
        }

        var set = ManifestReader.Parse(options.Manifest, "pod manifest", new ManifestReadOptions { DefaultNamespace = options.DefaultNamespace });
        if (set.HasErrors)
        {
            throw new ArgumentException("Manifest: " + string.Join("; ", set.Diagnostics.Where(d => d.Severity == ManifestSeverity.Error)), nameof(options));
        }

        if (set.Pods.Length != 1 || set.Services.Length + set.EndpointSlices.Length + set.Endpoints.Length > 0)
        {
            var why = set.Diagnostics.IsEmpty ? string.Empty : " (" + string.Join("; ", set.Diagnostics) + ")";
            throw new ArgumentException($"Manifest: expected one running Pod with status.podIP, found {set.Pods.Length} pod(s) and {set.Services.Length + set.EndpointSlices.Length + set.Endpoints.Length} other object(s){why}.", nameof(options));
        }

        _options = options;
        PodId = set.Pods[0].Id;
        Key = EtcdKeyLayout.Key(options.Prefix, ManifestObjectKind.Pod, PodId);
        _key = ByteString.CopyFromUtf8(Key);
        _value = ByteString.CopyFromUtf8(options.Manifest);
        _ttlSeconds = (long)Math.Ceiling(options.Ttl.TotalSeconds);
        _logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger<EtcdPodRegistration>();
    }

    /// <summary>The pod's namespace and name.</summary>
    public NamespacedName PodId { get; }

    /// <summary>The key the pod is registered at.</summary>
    public string Key { get; }

    /// <summary>The lease the key is attached to now; 0 before the first registration.</summary>
    public long LeaseId => Interlocked.Read(ref _leaseId);

    /// <summary>Completes when the pod was first registered.</summary>
    public Task Registered => _registered.Task;

    /// <summary>Starts registering in the background (retrying while etcd is unreachable); see <see cref="Registered"/>.</summary>
    /// <exception cref="InvalidOperationException">Started already.</exception>
    public void Start()
    {
        if (_run is not null)
        {
            throw new InvalidOperationException("The registration is started already.");
        }

        _connection = new EtcdConnection(_options.Endpoint);
        _stop = new CancellationTokenSource();
        _run = Task.Run(() => RunAsync(_stop.Token), CancellationToken.None);
    }

    /// <summary>Stops keeping the lease alive and revokes it: the pod leaves every node now rather than at the lease's expiry.</summary>
    /// <returns>A task that completes when the lease is revoked, or could not be (then it expires by itself).</returns>
    public async ValueTask DisposeAsync()
    {
        if (_run is null || _stop is null || _connection is null || Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        await _stop.CancelAsync().ConfigureAwait(false);
        await _run.ConfigureAwait(false);
        var lease = LeaseId;
        if (lease != 0)
        {
            try
            {
                await _connection.Lease.LeaseRevokeAsync(new LeaseRevokeRequest { ID = lease }, deadline: DateTime.UtcNow + _options.RequestTimeout).ConfigureAwait(false);
                EtcdLog.Deregistered(_logger, _options.Endpoint, Key, lease);
            }
            catch (RpcException ex)
            {
                EtcdLog.RevokeFailed(_logger, _options.Endpoint, Key, lease, $"{ex.StatusCode}: {ex.Status.Detail}");
            }
        }

        _connection.Dispose();
        _stop.Dispose();
    }

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        var delay = new RetryDelay(_options.MinRetryDelay, _options.MaxRetryDelay);
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await RegisterAndKeepAliveAsync(delay, cancellationToken).ConfigureAwait(false);
                EtcdLog.RegistrationLost(_logger, _options.Endpoint, Key, "lease expired", 0);
            }
            catch (Exception ex) when (cancellationToken.IsCancellationRequested && ex is OperationCanceledException or RpcException { StatusCode: StatusCode.Cancelled })
            {
                // A stop: gRPC reports the stop token's cancellation as Cancelled; the registration was not lost.
                return;
            }
            catch (Exception ex) when (ex is RpcException or HttpRequestException or IOException or OperationCanceledException or InvalidOperationException)
            {
                var wait = delay.Next();
                EtcdLog.RegistrationLost(_logger, _options.Endpoint, Key, ex is RpcException rpc ? $"{rpc.StatusCode}: {rpc.Status.Detail}" : ex.Message, (long)wait.TotalMilliseconds);
                try
                {
                    await Task.Delay(wait, cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    /// <summary>One registration: always a new lease (the previous one, if any, is revoked once the key has moved to it), the put, then keep-alives until the lease is gone.</summary>
    private async Task RegisterAndKeepAliveAsync(RetryDelay delay, CancellationToken cancellationToken)
    {
        var connection = _connection!;
        var lease = await connection.Lease.LeaseGrantAsync(
            new LeaseGrantRequest { TTL = _ttlSeconds },
            deadline: DateTime.UtcNow + _options.RequestTimeout,
            cancellationToken: cancellationToken).ConfigureAwait(false);
        try
        {
            await connection.Kv.PutAsync(
                new PutRequest { Key = _key, Value = _value, Lease = lease.ID },
                deadline: DateTime.UtcNow + _options.RequestTimeout,
                cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is RpcException or HttpRequestException or IOException or OperationCanceledException)
        {
            // No key holds the new lease: revoke it (best effort; not with the stop token, which may be why
            // the put failed), or it lingers until its TTL and the next attempt grants another one.
            await RevokeQuietlyAsync(connection, lease.ID).ConfigureAwait(false);
            throw;
        }

        var previous = Interlocked.Exchange(ref _leaseId, lease.ID);
        if (previous != 0 && previous != lease.ID)
        {
            // The old lease may still be alive (a keep-alive stream broke, etcd did not expire it yet): drop
            // it, or the key it no longer holds would linger as an empty lease until its TTL.
            try
            {
                await connection.Lease.LeaseRevokeAsync(new LeaseRevokeRequest { ID = previous }, deadline: DateTime.UtcNow + _options.RequestTimeout, cancellationToken: cancellationToken).ConfigureAwait(false);
            }
            catch (RpcException)
            {
            }
        }

        EtcdLog.Registered(_logger, _options.Endpoint, Key, lease.ID, lease.TTL);
        _registered.TrySetResult();
        delay.Reset();

        var interval = TimeSpan.FromSeconds(Math.Max(1, _ttlSeconds / 3.0));
        using var call = connection.Lease.LeaseKeepAlive(cancellationToken: cancellationToken);
        while (true)
        {
            await call.RequestStream.WriteAsync(new LeaseKeepAliveRequest { ID = lease.ID }, cancellationToken).ConfigureAwait(false);
            using var answer = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            answer.CancelAfter(_options.RequestTimeout);
            if (!await call.ResponseStream.MoveNext(answer.Token).ConfigureAwait(false))
            {
                throw new IOException("etcd closed the lease keep-alive stream");
            }

            if (call.ResponseStream.Current.TTL <= 0)
            {
                return;   // the lease expired (etcd was away too long): register again
            }

            await Task.Delay(interval, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task RevokeQuietlyAsync(EtcdConnection connection, long lease)
    {
        try
        {
            await connection.Lease.LeaseRevokeAsync(new LeaseRevokeRequest { ID = lease }, deadline: DateTime.UtcNow + _options.RequestTimeout).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is RpcException or HttpRequestException or IOException or OperationCanceledException)
        {
            // etcd is away: the lease expires by itself after its TTL.
        }
    }
}

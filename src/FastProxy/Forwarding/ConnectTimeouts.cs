using System.Collections.Concurrent;

namespace FastProxy.Forwarding;

/// <summary>
/// Cancellation for connect attempts, reused. A fresh source linked to the shutdown token per attempt costs
/// a source, a registration and a timer per proxied connection; a pooled source keeps its timer (re-armed by
/// <see cref="CancellationTokenSource.CancelAfter(TimeSpan)"/>) and the shutdown token reuses its registration nodes.
/// </summary>
internal sealed class ConnectTimeouts
{
    // Enough for the connects in flight at once on a busy proxy; beyond that sources are simply not kept.
    private const int MaxPooled = 256;

    private static readonly Action<object?> s_cancel = static source => ((CancellationTokenSource)source!).Cancel();

    private readonly ConcurrentQueue<CancellationTokenSource> _pool = new();
    private int _pooled;

    /// <summary>A token cancelled after <paramref name="timeout"/> or with <paramref name="shutdown"/>; dispose the lease when the attempt is over.</summary>
    public Lease Start(TimeSpan timeout, CancellationToken shutdown)
    {
        CancellationTokenSource? source;
        if (_pool.TryDequeue(out source))
        {
            Interlocked.Decrement(ref _pooled);
        }
        else
        {
            source = new CancellationTokenSource();
        }

        source.CancelAfter(timeout);
        var registration = shutdown.UnsafeRegister(s_cancel, source);
        return new Lease(this, source, registration);
    }

    private void Return(CancellationTokenSource source)
    {
        // TryReset fails once the source was cancelled (timed out, or shutdown): such a source is done.
        if (Interlocked.Increment(ref _pooled) <= MaxPooled && source.TryReset())
        {
            _pool.Enqueue(source);
            return;
        }

        Interlocked.Decrement(ref _pooled);
        source.Dispose();
    }

    /// <summary>One attempt's cancellation.</summary>
    public readonly struct Lease : IDisposable
    {
        private readonly ConnectTimeouts _owner;
        private readonly CancellationTokenSource _source;
        private readonly CancellationTokenRegistration _registration;

        internal Lease(ConnectTimeouts owner, CancellationTokenSource source, CancellationTokenRegistration registration)
        {
            _owner = owner;
            _source = source;
            _registration = registration;
        }

        public CancellationToken Token => _source.Token;

        public void Dispose()
        {
            // Waits for a shutdown callback that is running, so the source is never reset under it.
            _registration.Dispose();
            _owner.Return(_source);
        }
    }
}

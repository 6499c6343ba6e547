namespace FastProxy.Kubernetes.Watching;

/// <summary>One watched resource's progress, written by its watcher and read by anyone (status).</summary>
internal sealed class WatchState
{
    private volatile string? _resourceVersion;
    private volatile bool _connected;
    private volatile bool _synced;
    private volatile string? _lastError;
    private readonly TaskCompletionSource _firstList = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _relists;

    public WatchState(string name) => Name = name;

    /// <summary><c>services</c>, or <c>services/NAMESPACE</c> for one namespace.</summary>
    public string Name { get; }

    public string? ResourceVersion => _resourceVersion;

    public bool Connected => _connected;

    public bool Synced => _synced;

    /// <summary>Completes when the resource was first listed and applied.</summary>
    public Task FirstList => _firstList.Task;

    public string? LastError => _lastError;

    public long Relists => Interlocked.Read(ref _relists);

    public void Listed(string resourceVersion)
    {
        _resourceVersion = resourceVersion;
        _connected = true;
        _synced = true;
        _firstList.TrySetResult();
    }

    public void Opened() => _connected = true;

    public void Saw(string resourceVersion) => _resourceVersion = resourceVersion;

    public void Relisted() => Interlocked.Increment(ref _relists);

    public void Failed(Exception exception)
    {
        _connected = false;
        _lastError = $"{Name}: {exception.GetType().Name}: {exception.Message}";
    }

    public void Stopped() => _connected = false;
}

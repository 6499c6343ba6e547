using System.Threading.Channels;

namespace FastProxy.Sidecar.Commands;

/// <summary>
/// Tells <c>run</c> when its manifests may have changed: a <see cref="FileSystemWatcher"/> on the folder
/// of every file given and on every folder given (editors replace a file by renaming a new one over it,
/// which a watcher on the file itself would miss, so the folder is watched and events are filtered by
/// name or extension), plus a slow poll of sizes and modification times as a safety net for events a
/// watcher drops (overflow, network file systems, a folder deleted and recreated). Signals are
/// coalesced: the reader sees one pending change however many events came.
/// </summary>
internal sealed class ManifestWatcher : IDisposable
{
    private readonly string[] _paths;
    private readonly List<FileSystemWatcher> _watchers = [];
    private readonly Channel<bool> _changes = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _poll;
    private string _fingerprint;

    public ManifestWatcher(IReadOnlyList<string> paths, TimeSpan pollInterval, string initialFingerprint)
    {
        _paths = [.. paths];
        _fingerprint = initialFingerprint;
        var files = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);   // folder -> file names watched in it
        var folders = new HashSet<string>(StringComparer.Ordinal);                      // folders watched whole
        foreach (var path in paths)
        {
            var full = Path.GetFullPath(path);
            if (Directory.Exists(full))
            {
                folders.Add(full);
            }
            else if (Path.GetDirectoryName(full) is { } folder)
            {
                if (!files.TryGetValue(folder, out var names))
                {
                    files[folder] = names = new HashSet<string>(StringComparer.Ordinal);
                }

                names.Add(Path.GetFileName(full));
            }
        }

        foreach (var folder in folders.Concat(files.Keys).Distinct(StringComparer.Ordinal))
        {
            var wholeFolder = folders.Contains(folder);
            var names = files.GetValueOrDefault(folder);
            bool Relevant(string? name) => name is not null && ((wholeFolder && ManifestFiles.IsManifestName(name)) || (names?.Contains(name) ?? false));
            try
            {
                var watcher = new FileSystemWatcher(folder)
                {
                    NotifyFilter = NotifyFilters.FileName | NotifyFilters.LastWrite | NotifyFilters.Size | NotifyFilters.CreationTime,
                    IncludeSubdirectories = false,
                };
                watcher.Changed += (_, e) => { if (Relevant(e.Name)) { Signal(); } };
                watcher.Created += (_, e) => { if (Relevant(e.Name)) { Signal(); } };
                watcher.Deleted += (_, e) => { if (Relevant(e.Name)) { Signal(); } };
                watcher.Renamed += (_, e) => { if (Relevant(e.Name) || Relevant(e.OldName)) { Signal(); } };
                watcher.Error += (_, _) => Signal();   // overflow: something changed, we do not know what
                watcher.EnableRaisingEvents = true;
                _watchers.Add(watcher);
            }
            catch (Exception ex) when (ex is IOException or ArgumentException or UnauthorizedAccessException)
            {
                // A folder that cannot be watched (gone, no inotify instances left): the poll still sees changes.
            }
        }

        _poll = PollAsync(pollInterval);
    }

    /// <summary>Completes when a change is pending (and takes it); canceled by <paramref name="cancellationToken"/>.</summary>
    public async Task WaitForChangeAsync(CancellationToken cancellationToken)
        => await _changes.Reader.ReadAsync(cancellationToken).ConfigureAwait(false);

    /// <summary>Takes a pending change, if any, without waiting.</summary>
    public bool TryTakeChange() => _changes.Reader.TryRead(out _);

    /// <summary>Remembers what was just loaded, so the poll does not report it again.</summary>
    public void Loaded(string fingerprint) => Volatile.Write(ref _fingerprint, fingerprint);

    public void Dispose()
    {
        foreach (var watcher in _watchers)
        {
            watcher.EnableRaisingEvents = false;
            watcher.Dispose();
        }

        _stop.Cancel();
        try
        {
            _poll.Wait(TimeSpan.FromSeconds(5));
        }
        catch (AggregateException)
        {
        }

        _stop.Dispose();
    }

    private void Signal() => _changes.Writer.TryWrite(true);

    private async Task PollAsync(TimeSpan interval)
    {
        using var timer = new PeriodicTimer(interval);
        try
        {
            while (await timer.WaitForNextTickAsync(_stop.Token).ConfigureAwait(false))
            {
                var now = ManifestFiles.Fingerprint(_paths);
                if (!string.Equals(now, Volatile.Read(ref _fingerprint), StringComparison.Ordinal))
                {
                    Volatile.Write(ref _fingerprint, now);
                    Signal();
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }
}

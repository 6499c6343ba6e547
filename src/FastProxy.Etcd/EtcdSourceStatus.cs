namespace FastProxy.Etcd;

/// <summary>What an <see cref="EtcdCatalogSource"/> knows of its connection to etcd, for the admin API and logs.</summary>
public sealed class EtcdSourceStatus
{
    /// <summary>The etcd client URL.</summary>
    public required Uri Endpoint { get; init; }

    /// <summary>The key prefix watched.</summary>
    public required string Prefix { get; init; }

    /// <summary>True while the watch stream is open; false while etcd is unreachable (the catalog keeps its last good state).</summary>
    public bool Connected { get; init; }

    /// <summary>True once the first list has been applied.</summary>
    public bool Synced { get; init; }

    /// <summary>The etcd revision the catalog reflects; the watch resumes after it.</summary>
    public long Revision { get; init; }

    /// <summary>Objects from etcd now in the catalog.</summary>
    public int Objects { get; init; }

    /// <summary>Keys whose latest value was refused (their last good version, if any, still serves).</summary>
    public int RejectedKeys { get; init; }

    /// <summary>Full lists read: the first, plus one after each compaction that outran the watch.</summary>
    public int Lists { get; init; }

    /// <summary>The last failure to reach or read etcd; null when none yet.</summary>
    public string? LastError { get; init; }

    /// <summary>When <see cref="LastError"/> happened.</summary>
    public DateTimeOffset? LastErrorAt { get; init; }
}

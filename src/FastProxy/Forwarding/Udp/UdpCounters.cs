namespace FastProxy.Forwarding.Udp;

/// <summary>Why a UDP session ended (the <c>reason</c> tag of <c>fastproxy.udp.sessions.ended</c>).</summary>
internal enum UdpSessionEnd
{
    /// <summary>No datagram either way for the service's idle timeout.</summary>
    Expired,

    /// <summary>Taken out, least recently used, to make room under the service's session cap.</summary>
    Evicted,

    /// <summary>Its listener closed, its endpoint left with no other to take over, or its client left the source ranges.</summary>
    Closed,
}

/// <summary>Why a datagram from a client was not forwarded (the <c>reason</c> tag of <c>fastproxy.udp.datagrams.dropped</c>).</summary>
internal enum UdpDrop
{
    /// <summary>The route has no endpoint.</summary>
    NoEndpoint,

    /// <summary>The client is outside the service's loadBalancerSourceRanges.</summary>
    SourceRange,

    /// <summary>No session could be opened (the process is out of sockets) or the send failed.</summary>
    Failed,
}

/// <summary>One service's UDP totals, kept with Interlocked adds and observed by the metrics at collection time.</summary>
internal sealed class UdpCounters
{
    private long _created;
    private long _expired;
    private long _evicted;
    private long _closed;
    private long _repicked;
    private long _datagramsToEndpoint;
    private long _datagramsFromEndpoint;
    private long _bytesToEndpoint;
    private long _bytesFromEndpoint;
    private long _droppedNoEndpoint;
    private long _droppedSourceRange;
    private long _droppedFailed;

    public long Created => Volatile.Read(ref _created);

    public long Repicked => Volatile.Read(ref _repicked);

    public long DatagramsToEndpoint => Volatile.Read(ref _datagramsToEndpoint);

    public long DatagramsFromEndpoint => Volatile.Read(ref _datagramsFromEndpoint);

    public long BytesToEndpoint => Volatile.Read(ref _bytesToEndpoint);

    public long BytesFromEndpoint => Volatile.Read(ref _bytesFromEndpoint);

    public long Ended(UdpSessionEnd reason) => Volatile.Read(ref EndedCounter(reason));

    public long Dropped(UdpDrop reason) => Volatile.Read(ref DroppedCounter(reason));

    public void SessionCreated() => Interlocked.Increment(ref _created);

    public void SessionEnded(UdpSessionEnd reason) => Interlocked.Increment(ref EndedCounter(reason));

    public void SessionRepicked() => Interlocked.Increment(ref _repicked);

    public void Forwarded(bool toEndpoint, int bytes)
    {
        Interlocked.Increment(ref toEndpoint ? ref _datagramsToEndpoint : ref _datagramsFromEndpoint);
        Interlocked.Add(ref toEndpoint ? ref _bytesToEndpoint : ref _bytesFromEndpoint, bytes);
    }

    public void Drop(UdpDrop reason) => Interlocked.Increment(ref DroppedCounter(reason));

    private ref long EndedCounter(UdpSessionEnd reason)
    {
        switch (reason)
        {
            case UdpSessionEnd.Expired:
                return ref _expired;
            case UdpSessionEnd.Evicted:
                return ref _evicted;
            default:
                return ref _closed;
        }
    }

    private ref long DroppedCounter(UdpDrop reason)
    {
        switch (reason)
        {
            case UdpDrop.NoEndpoint:
                return ref _droppedNoEndpoint;
            case UdpDrop.SourceRange:
                return ref _droppedSourceRange;
            default:
                return ref _droppedFailed;
        }
    }
}

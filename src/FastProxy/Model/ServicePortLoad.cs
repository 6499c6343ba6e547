namespace FastProxy.Model;

/// <summary>
/// The open connections of one service port across all its endpoints, kept by the catalog across
/// rebuilds like <see cref="EndpointState"/>; bounded-load hashing reads it to know the mean load in
/// one read instead of a sum over every endpoint.
/// </summary>
internal sealed class ServicePortLoad
{
    private long _activeConnections;

    public long ActiveConnections => Volatile.Read(ref _activeConnections);

    public void Add(long delta) => Interlocked.Add(ref _activeConnections, delta);
}

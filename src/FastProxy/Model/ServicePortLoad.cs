using ConnectionGate = FastProxy.Connections.ConnectionGate;

namespace FastProxy.Model;

/// <summary>
/// The open connections of one service port across all its endpoints, kept by the catalog across
/// rebuilds like <see cref="EndpointState"/>; bounded-load hashing reads it to know the mean load in
/// one read instead of a sum over every endpoint.
/// </summary>
internal sealed class ServicePortLoad
{
    private long _activeConnections;

    // The connection gates (one per proxy server) that queued a connection for an endpoint slot of this port.
    // The gates live in each server's forwarder, the in-process connector has none: this is where both meet.
    private ConnectionGate[] _gates = [];

    public long ActiveConnections => Volatile.Read(ref _activeConnections);

    public void Add(long delta) => Interlocked.Add(ref _activeConnections, delta);

    /// <summary>Has <see cref="OnSlotFreedElsewhere"/> wake <paramref name="gate"/> from now on (idempotent; a queueing path, not per connection).</summary>
    public void Watch(ConnectionGate gate)
    {
        while (true)
        {
            var gates = Volatile.Read(ref _gates);
            if (Array.IndexOf(gates, gate) >= 0 || Interlocked.CompareExchange(ref _gates, [.. gates, gate], gates) == gates)
            {
                return;
            }
        }
    }

    /// <summary>
    /// A connection outside every proxy server (an in-process <see cref="Discovery.ServiceConnector"/> stream)
    /// gave an endpoint slot back: wakes the gates that queue for one, as a proxied connection ending wakes its own.
    /// </summary>
    public void OnSlotFreedElsewhere()
    {
        foreach (var gate in Volatile.Read(ref _gates))
        {
            gate.Wake();
        }
    }
}

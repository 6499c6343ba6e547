namespace FastProxy.Model;

/// <summary>How an active health check asks an endpoint whether it is up.</summary>
public enum HealthCheckProtocol
{
    /// <summary>A TCP connect that succeeds within the timeout; the connection is closed at once.</summary>
    Tcp = 0,

    /// <summary>An HTTP/1.1 <c>GET</c> of <see cref="HealthCheckPolicy.Path"/> answered within the timeout with an expected status.</summary>
    Http = 1,
}

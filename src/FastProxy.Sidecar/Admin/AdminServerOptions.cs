using System.Net;

namespace FastProxy.Sidecar.Admin;

/// <summary>Settings of the admin HTTP server (<c>--admin</c>, <c>--admin-token</c>).</summary>
internal sealed class AdminServerOptions
{
    /// <summary>The default address: loopback only, so nothing outside the machine reaches the admin API unless asked for.</summary>
    public static readonly IPEndPoint DefaultEndPoint = new(IPAddress.Loopback, 9901);

    /// <summary>The one address the server listens on; port 0 picks a free port (see <see cref="AdminServer.EndPoint"/>).</summary>
    public IPEndPoint EndPoint { get; set; } = DefaultEndPoint;

    /// <summary>
    /// When set, every request except <c>/healthz</c> must carry <c>Authorization: Bearer</c> and this
    /// token, or gets 401. Null or empty: no authentication (fine on loopback).
    /// </summary>
    public string? BearerToken { get; set; }

    /// <summary>Writes the catalog source's status as one JSON object for <c>/api/sources</c>; null (files): the path is not served.</summary>
    public Action<System.Text.Json.Utf8JsonWriter>? WriteSources { get; set; }

    /// <summary>How long a stop waits for in-flight admin requests before it cuts them.</summary>
    public TimeSpan ShutdownTimeout { get; set; } = TimeSpan.FromSeconds(2);
}

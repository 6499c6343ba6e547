using System.Net;
using System.Net.Sockets;
using FastProxy.Model;

namespace FastProxy.Health;

/// <summary>
/// The real probes: a TCP connect, or an HTTP/1.1 GET on a fresh connection (<c>Connection: close</c>,
/// no proxy, no redirects, no cookies: as kubelet's probe), judged by the status line and headers alone;
/// the body is never read.
/// </summary>
internal sealed class NetworkHealthProbe : IHealthProbe, IDisposable
{
    private const string UserAgent = "fastproxy-health-check";

    private readonly HttpClient _http = new(new SocketsHttpHandler
    {
        UseProxy = false,
        AllowAutoRedirect = false,
        UseCookies = false,
        PooledConnectionLifetime = TimeSpan.Zero,
        MaxResponseHeadersLength = 16, // KiB: a health answer has no business being bigger.
    })
    {
        // The caller's token carries the policy's timeout (on its clock).
        Timeout = System.Threading.Timeout.InfiniteTimeSpan,
    };

    public ValueTask<ProbeResult> ProbeAsync(IPEndPoint target, HealthCheckPolicy policy, CancellationToken cancellationToken)
        => policy.Protocol == HealthCheckProtocol.Http ? HttpAsync(target, policy, cancellationToken) : TcpAsync(target, cancellationToken);

    public void Dispose() => _http.Dispose();

    private static async ValueTask<ProbeResult> TcpAsync(IPEndPoint target, CancellationToken cancellationToken)
    {
        using var socket = new Socket(target.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            await socket.ConnectAsync(target, cancellationToken).ConfigureAwait(false);
            return ProbeResult.Up("connected");
        }
        catch (SocketException ex)
        {
            return ProbeResult.Down($"connect failed: {ex.SocketErrorCode}");
        }
    }

    private async ValueTask<ProbeResult> HttpAsync(IPEndPoint target, HealthCheckPolicy policy, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri($"http://{target}{policy.Path}"));
        request.Headers.ConnectionClose = true;
        request.Headers.UserAgent.ParseAdd(UserAgent);
        try
        {
            using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
            var status = (int)response.StatusCode;
            return status >= policy.ExpectedStatusMin && status <= policy.ExpectedStatusMax
                ? ProbeResult.Up($"HTTP {status}")
                : ProbeResult.Down($"HTTP {status}, expected {policy.ExpectedStatusMin}-{policy.ExpectedStatusMax}");
        }
        catch (HttpRequestException ex)
        {
            return ProbeResult.Down($"HTTP request failed: {ex.HttpRequestError}");
        }
    }
}

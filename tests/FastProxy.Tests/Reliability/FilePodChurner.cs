using System.Net;

namespace FastProxy.Tests.Reliability;

/// <summary>
/// Churns its pods by rewriting a manifest file that a real <c>fastproxy run -f DIR</c> watches: each
/// publish writes the whole YAML beside the file and renames it over the old one (as editors do, so the
/// sidecar never reads half a file). A removed pod's backend stops only once the sidecar's admin API
/// shows it routes to the pod no more.
/// </summary>
internal sealed class FilePodChurner(string file, IPEndPoint service, string prefix, int minSelected, int maxPods) : PodChurner(prefix, minSelected, maxPods)
{
    private static readonly TimeSpan ApplyBound = TimeSpan.FromSeconds(30);
    private static readonly HttpClient Http = CreateHttp();

    /// <summary>The sidecar's <c>/api/endpoints</c>; null until it runs (publishes before then need no wait).</summary>
    public Uri? EndpointsApi { get; set; }


    /// <summary>One connection per request (closed after it), so the test leaves no socket open in the sidecar.</summary>
    private static HttpClient CreateHttp()
    {
        var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        http.DefaultRequestHeaders.ConnectionClose = true;
        return http;
    }

    protected override long Publish()
    {
        var next = file + ".next";
        File.WriteAllText(next, Render(service));
        File.Move(next, file, overwrite: true);
        return 0;
    }

    protected override async Task WhenAppliedAsync(long published, IReadOnlyList<ChurnPod> removed)
    {
        if (EndpointsApi is null || removed.Count == 0)
        {
            return;
        }

        var addresses = removed.Select(p => $"\"{p.Address}:{ChurnPod.Port}\"").ToList();
        var body = await Settle.UntilAsync(() => Http.GetStringAsync(EndpointsApi), b => !addresses.Exists(b.Contains), ApplyBound);
        if (addresses.Exists(body.Contains))
        {
            throw new TimeoutException($"the sidecar still routes to a removed pod after {ApplyBound}");
        }
    }
}

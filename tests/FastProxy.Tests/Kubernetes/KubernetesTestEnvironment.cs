using System.Net;
using System.Text.Json.Nodes;
using FastProxy.Catalog;
using FastProxy.Kubernetes;
using FastProxy.Model;

namespace FastProxy.Tests.Kubernetes;

/// <summary>
/// A fake API server on its own loopback address replaying the recorded fixtures, a kubeconfig naming
/// it, a catalog and a <see cref="KubernetesCatalogSource"/> built from that kubeconfig, so the real
/// KubernetesClient code runs end to end. Retries are fast so failures and reconnects take milliseconds.
/// </summary>
internal sealed class KubernetesTestEnvironment : IAsyncDisposable
{
    public const string ServicesPath = "/api/v1/services";
    public const string SlicesPath = "/apis/discovery.k8s.io/v1/endpointslices";
    public const string PodsPath = "/api/v1/pods";
    private static int _next;
    private readonly string _folder;

    private KubernetesTestEnvironment(FakeApiServer server, string folder, ServiceCatalog catalog, KubernetesSourceOptions options)
    {
        Server = server;
        _folder = folder;
        Catalog = catalog;
        Options = options;
        Source = KubernetesCatalogSource.Create(catalog, options, Logs.CreateLogger("FastProxy.Kubernetes"));
    }

    public FakeApiServer Server { get; }

    public ServiceCatalog Catalog { get; }

    public KubernetesSourceOptions Options { get; }

    public KubernetesCatalogSource Source { get; }

    public ListLoggerProvider Logs { get; } = new();

    /// <summary>A fake server serving the recorded lists (services, slices, pods), and a source not yet started.</summary>
    public static KubernetesTestEnvironment Create(Action<KubernetesSourceOptions>? configure = null, ServiceCatalog? catalog = null)
    {
        var n = Interlocked.Increment(ref _next);
        var server = FakeApiServer.Start(IPAddress.Parse($"127.77.{n / 250}.{(n % 250) + 1}"));
        server.SetList(ServicesPath, Fixture("services.json"));
        server.SetList(SlicesPath, Fixture("endpointslices.json"));
        server.SetList(PodsPath, Fixture("pods.json"));
        var folder = Directory.CreateTempSubdirectory("fastproxy-k8s-").FullName;
        var options = new KubernetesSourceOptions
        {
            KubeconfigPath = server.WriteKubeconfig(folder),
            InitialRetryDelay = TimeSpan.FromMilliseconds(50),
            MaxRetryDelay = TimeSpan.FromMilliseconds(200),
        };
        configure?.Invoke(options);
        return new KubernetesTestEnvironment(server, folder, catalog ?? new ServiceCatalog(), options);
    }

    public static string Fixture(string name) => File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Kubernetes", "Fixtures", name));

    public static string[] FixtureLines(string name) => Fixture(name).Split('\n', StringSplitOptions.RemoveEmptyEntries);

    /// <summary>A recorded list with only the items <paramref name="keep"/> accepts, at another resourceVersion.</summary>
    public static string FilterList(string json, Func<JsonNode, bool> keep, string resourceVersion)
    {
        var list = JsonNode.Parse(json)!.AsObject();
        var items = list["items"]!.AsArray().Where(i => keep(i!)).Select(i => i!.DeepClone()).ToArray();
        list["items"] = new JsonArray(items);
        list["metadata"]!["resourceVersion"] = resourceVersion;
        return list.ToJsonString();
    }

    /// <summary>
    /// Moves a recorded fixture onto a test's own loopback addresses: pods 127.120.1.x to <paramref name="podPrefix"/>x,
    /// web's cluster IP to <paramref name="vip"/>, service port 80 to <see cref="ProxyTestEnvironment.ServicePort"/> (no root needed).
    /// </summary>
    public static string Localize(string json, string podPrefix, IPAddress vip)
        => json.Replace("127.120.1.", podPrefix, StringComparison.Ordinal)
            .Replace("127.96.10.10", vip.ToString(), StringComparison.Ordinal)
            .Replace("\"port\": 80,", $"\"port\": {ProxyTestEnvironment.ServicePort},", StringComparison.Ordinal)
            .Replace("\"port\":80,", $"\"port\":{ProxyTestEnvironment.ServicePort},", StringComparison.Ordinal);

    /// <summary>
    /// Web's pods as real backends on a test's own addresses (port 8080 of <paramref name="podPrefix"/>1..n), and
    /// <paramref name="server"/> serving only the web service and its slice, moved onto those addresses.
    /// </summary>
    public static TestBackend[] ServeWeb(FakeApiServer server, string podPrefix, IPAddress vip, int pods)
    {
        server.SetList(ServicesPath, Localize(FilterList(Fixture("services.json"), i => NameOf(i) == "web", "1000"), podPrefix, vip));
        server.SetList(SlicesPath, Localize(FilterList(Fixture("endpointslices.json"), i => NameOf(i) == "web-7k2fq", "1000"), podPrefix, vip));
        return [.. Enumerable.Range(1, pods).Select(i => TestBackend.Start($"web-{i}", new IPEndPoint(IPAddress.Parse(podPrefix + i), 8080)))];
    }

    public static string NameOf(JsonNode item) => item["metadata"]!["name"]!.GetValue<string>();

    /// <summary>Starts the source and waits until every resource was listed once.</summary>
    public async Task StartAsync()
    {
        Source.Start();
        await Source.WaitForSyncAsync().WaitAsync(TimeSpan.FromSeconds(20));
    }

    public ServiceSnapshot Service(string name)
        => Catalog.Current.TryGetService(new NamespacedName("shop", name), out var service) ? service : throw new Xunit.Sdk.XunitException($"no service shop/{name} in the catalog");

    public bool HasService(string name) => Catalog.Current.TryGetService(new NamespacedName("shop", name), out _);

    /// <summary>Polls (every 10 ms, at most 15 s unless told) until <paramref name="condition"/> holds; fails naming <paramref name="what"/>.</summary>
    public static async Task EventuallyAsync(Func<bool> condition, string what, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(15));
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new Xunit.Sdk.XunitException($"timed out waiting until {what}");
            }

            await Task.Delay(10);
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await Source.DisposeAsync();
        }
        finally
        {
            await Server.DisposeAsync();
            Directory.Delete(_folder, recursive: true);
        }
    }
}

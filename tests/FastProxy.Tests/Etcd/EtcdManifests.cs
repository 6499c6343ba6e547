using System.Net;

namespace FastProxy.Tests.Etcd;

/// <summary>Manifest values as users put them in etcd: Services and Pods as JSON, the keys of the default layout.</summary>
internal static class EtcdManifests
{
    public const string Prefix = "/fastproxy/";

    public static string ServiceKey(string name, string ns = "default") => $"{Prefix}services/{ns}/{name}";

    public static string PodKey(string name, string ns = "default") => $"{Prefix}pods/{ns}/{name}";

    /// <summary>A ClusterIP Service selecting app=<paramref name="app"/>; its clusterIP is allocated by each node when <paramref name="clusterIP"/> is null.</summary>
    public static string Service(string name, int port, int targetPort, IPAddress? clusterIP = null, string? balancer = null, string app = "web")
    {
        var annotations = balancer is null ? string.Empty : ",\"annotations\":{\"fastproxy.io/balancer\":\"" + balancer + "\"}";
        var ip = clusterIP is null ? string.Empty : "\"clusterIP\":\"" + clusterIP + "\",";
        return "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"" + name + "\"" + annotations + "},"
            + "\"spec\":{" + ip + "\"selector\":{\"app\":\"" + app + "\"},\"ports\":[{\"port\":" + port + ",\"targetPort\":" + targetPort + "}]}}";
    }

    /// <summary>A running Pod with <paramref name="ip"/>, labelled app=<paramref name="app"/>.</summary>
    public static string Pod(string name, IPAddress ip, string app = "web", int? weight = null)
    {
        var annotations = weight is null ? string.Empty : ",\"annotations\":{\"fastproxy.io/weight\":\"" + weight + "\"}";
        return "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"" + name + "\",\"labels\":{\"app\":\"" + app + "\"}" + annotations + "},"
            + "\"spec\":{},\"status\":{\"phase\":\"Running\",\"podIP\":\"" + ip + "\"}}";
    }

    /// <summary>Polls <paramref name="condition"/> until it holds; fails with <paramref name="what"/> after a generous bound (the machine is shared and slow).</summary>
    public static async Task EventuallyAsync(Func<bool> condition, string what, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(60));
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"Timed out waiting until {what}.");
            await Task.Delay(50);
        }
    }

    /// <summary>Polls an async <paramref name="condition"/> until it holds (exceptions count as "not yet"); fails after the bound.</summary>
    public static async Task EventuallyAsync(Func<Task<bool>> condition, string what, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(60));
        Exception? last = null;
        while (true)
        {
            try
            {
                if (await condition())
                {
                    return;
                }
            }
            catch (Exception ex) when (ex is IOException or System.Net.Sockets.SocketException or TimeoutException or HttpRequestException or OperationCanceledException)
            {
                last = ex;
            }

            Assert.True(DateTime.UtcNow < deadline, $"Timed out waiting until {what}. Last error: {last?.Message}");
            await Task.Delay(100);
        }
    }
}

using System.Net;

namespace FastProxy.Tests;

/// <summary>
/// Hands every test its own loopback addresses, so tests running in parallel never share a port:
/// pods in 127.(110+n/250).(n%250).x, virtual IPs in 127.97.(n/250).(n%250).
/// </summary>
internal static class TestAddresses
{
    private static int _next;

    public static (string PodPrefix, IPAddress VirtualIP) Next()
    {
        var n = Interlocked.Increment(ref _next);
        return ($"127.{110 + (n / 250)}.{n % 250}.", IPAddress.Parse($"127.97.{n / 250}.{n % 250}"));
    }
}

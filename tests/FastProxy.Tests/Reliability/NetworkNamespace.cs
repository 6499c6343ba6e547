using System.Globalization;
using System.Net;
using System.Runtime.InteropServices;

namespace FastProxy.Tests.Reliability;

/// <summary>
/// A network namespace of the test's own, joined to this one by a veth pair whose two link-local addresses (a
/// 169.254.x.y/30) exist only on that pair: a pod whose sockets are made inside it is reached from the proxy over a
/// real link that the test can cut. Made with iproute2 (needs root, as the suite's CI has); removed on dispose.
/// </summary>
internal sealed class NetworkNamespace : IAsyncDisposable
{
    private const int CloneNewNet = 0x40000000;
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(10);
    private static int _next;
    private readonly string _ip;
    private readonly string _hostLink;

    private NetworkNamespace(string ip, string name, string hostLink, string podPrefix)
    {
        _ip = ip;
        Name = name;
        _hostLink = hostLink;
        PodPrefix = podPrefix;
    }

    public string Name { get; }

    /// <summary>The pod's address is <c>PodPrefix + "1"</c>, what <see cref="FaultBackend.StartMany"/> binds first.</summary>
    public string PodPrefix { get; }

    public static async Task<NetworkNamespace> CreateAsync()
    {
        var ip = ExternalTool.Require("ip", "iproute2");
        var n = Interlocked.Increment(ref _next);
        var id = string.Create(CultureInfo.InvariantCulture, $"{Environment.ProcessId % 100_000}x{n % 100}");
        // A /30 of its own: the pod at .1 (FaultBackend binds PodPrefix + "1"), this side at .2.
        var prefix = string.Create(CultureInfo.InvariantCulture, $"169.254.{100 + ((Environment.ProcessId + n) % 150)}.");
        var space = new NetworkNamespace(ip, $"fp-cut-{id}", $"fpc{id}h", prefix);
        var peer = $"fpc{id}p";
        try
        {
            await space.RunAsync("netns", "add", space.Name);
            await space.RunAsync("link", "add", space._hostLink, "type", "veth", "peer", "name", peer, "netns", space.Name);
            await space.RunAsync("addr", "add", prefix + "2/30", "dev", space._hostLink);
            await space.RunAsync("link", "set", space._hostLink, "up");
            await space.RunAsync("-n", space.Name, "addr", "add", prefix + "1/30", "dev", peer);
            await space.RunAsync("-n", space.Name, "link", "set", peer, "up");
            await space.RunAsync("-n", space.Name, "link", "set", "lo", "up");
            return space;
        }
        catch
        {
            await space.DisposeAsync();
            throw;
        }
    }

    /// <summary>Runs <paramref name="create"/> on a thread inside the namespace: sockets it makes belong to it for good.</summary>
    public T Enter<T>(Func<T> create)
    {
        T result = default!;
        Exception? error = null;
        var thread = new Thread(() =>
        {
            try
            {
                using var home = File.OpenHandle("/proc/thread-self/ns/net");
                using var target = File.OpenHandle($"/var/run/netns/{Name}");
                Join(target.DangerousGetHandle());
                try
                {
                    result = create();
                }
                finally
                {
                    Join(home.DangerousGetHandle());
                }
            }
#pragma warning disable CA1031 // Rethrown on the test's thread below.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                error = ex;
            }
        });
        thread.Start();
        Assert.True(thread.Join(CommandTimeout), "Entering the network namespace hung.");
        return error is null ? result : throw new InvalidOperationException($"Could not run inside network namespace {Name}.", error);
    }

    /// <summary>Takes the link down (its route goes with it): packets between proxy and pod stop, no FIN, no RST.</summary>
    public Task CutAsync() => RunAsync("link", "set", _hostLink, "down");

    /// <summary>Brings the link back up.</summary>
    public Task RestoreAsync() => RunAsync("link", "set", _hostLink, "up");

    public async ValueTask DisposeAsync()
    {
        // Deleting the namespace deletes its end of the veth pair, and the pair with it.
        await ExternalTool.RunAsync(_ip, ["netns", "del", Name], CommandTimeout);
        await ExternalTool.RunAsync(_ip, ["link", "del", _hostLink], CommandTimeout);
    }

    private static void Join(IntPtr namespaceFd)
    {
        if (NativeMethods.SetNs(namespaceFd.ToInt32(), CloneNewNet) != 0)
        {
            throw new InvalidOperationException($"setns failed: errno {Marshal.GetLastPInvokeError()}.");
        }
    }

    private async Task RunAsync(params string[] arguments)
    {
        var result = await ExternalTool.RunAsync(_ip, arguments, CommandTimeout);
        Assert.True(result.ExitCode == 0, $"ip {string.Join(' ', arguments)} failed ({result.ExitCode}): {result.StandardError}");
    }

    private static class NativeMethods
    {
        [DllImport("libc", EntryPoint = "setns", SetLastError = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        public static extern int SetNs(int fd, int nstype);
    }
}

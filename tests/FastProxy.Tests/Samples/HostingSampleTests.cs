using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

using FastProxy.Sidecar.Tests;

namespace FastProxy.Samples.Tests;

/// <summary>
/// Runs samples/FastProxy.Samples.Hosting as a user would: a generic host whose appsettings.json declares
/// the service and its pods. Connects to the virtual IP declared there, then stops the host with SIGTERM.
/// Uses the sample's fixed loopback addresses (127.0.1.31-33:9003, 127.96.0.30:9002).
/// </summary>
public sealed class HostingSampleTests
{
    [Fact]
    public async Task Sample_ServesTheServiceDeclaredInAppsettings_ThenSigtermStopsItGracefully()
    {
        // What appsettings.json declares (copied next to the sample's dll, which is copied next to the tests).
        using var settings = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(AppContext.BaseDirectory, "appsettings.json")));
        var fastProxy = settings.RootElement.GetProperty("FastProxy");
        var service = fastProxy.GetProperty("Services")[0];
        var vip = new IPEndPoint(IPAddress.Parse(service.GetProperty("ClusterIP").GetString()!), service.GetProperty("Ports")[0].GetProperty("Port").GetInt32());
        var pods = fastProxy.GetProperty("Pods").EnumerateArray().Select(static p => p.GetProperty("Name").GetString()!).ToHashSet();

        // Started from elsewhere on purpose: the sample finds appsettings.json next to itself.
        await using var process = SidecarProcess.StartDll("FastProxy.Samples.Hosting.dll", Path.GetTempPath());
        await process.WaitForLineAsync("Press Ctrl+C to stop.", TimeSpan.FromSeconds(60));
        var output = process.Lines;
        Assert.Contains(output, line => line.Contains($"Proxy listening on {vip}", StringComparison.Ordinal));

        var served = new List<string>();
        for (var i = 0; i < 6; i++)
        {
            served.Add(await WhoServesAsync(vip));
        }

        Assert.All(served, name => Assert.Contains(name, pods));

        await process.SignalAsync("TERM");
        var exitCode = await process.WaitForExitAsync(TimeSpan.FromSeconds(30));
        Assert.True(exitCode == 0, $"exit code {exitCode}; output:\n{process.Output}");
        Assert.Contains(output, line => line.Contains("Stopped.", StringComparison.Ordinal));
    }

    /// <summary>The demo pods greet each connection with their name and close it.</summary>
    private static async Task<string> WhoServesAsync(IPEndPoint vip)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        using var client = new Socket(vip.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(vip, timeout.Token);
        var received = new MemoryStream();
        var buffer = new byte[64];
        int read;
        while ((read = await client.ReceiveAsync(buffer, SocketFlags.None, timeout.Token)) > 0)
        {
            received.Write(buffer, 0, read);
        }

        return Encoding.ASCII.GetString(received.ToArray());
    }
}

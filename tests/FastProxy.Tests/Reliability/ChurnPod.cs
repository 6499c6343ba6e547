using System.Globalization;
using System.Net;

namespace FastProxy.Tests.Reliability;

/// <summary>
/// One incarnation of a churned pod: its echo backend, and whether its labels put it in the service's
/// selector. Like a real pod, every incarnation gets an address of its own (never reused in the process),
/// in 127.181.0.1 onwards (127.181-189/16 belong to the churn scenario), all on <see cref="Port"/>.
/// </summary>
internal sealed class ChurnPod
{
    public const int Port = 18090;
    public const string App = "churn";
    public const string ParkedApp = "churn-parked";
    private static readonly TimeSpan QuietPeriod = TimeSpan.FromMilliseconds(250);
    private static int _incarnations;

    private ChurnPod(string name, TestBackend backend)
    {
        Name = name;
        Backend = backend;
    }

    public string Name { get; }

    public TestBackend Backend { get; }

    public IPAddress Address => Backend.EndPoint.Address;

    /// <summary>True when labelled <see cref="App"/> (selected); false when relabelled out to <see cref="ParkedApp"/>.</summary>
    public bool Selected { get; set; } = true;

    public string AppLabel => Selected ? App : ParkedApp;

    /// <summary>Starts the backend of a new incarnation named <paramref name="prefix"/>-N.</summary>
    public static ChurnPod Start(string prefix)
    {
        var n = Interlocked.Increment(ref _incarnations);
        var address = IPAddress.Parse(string.Create(CultureInfo.InvariantCulture, $"127.{181 + (n / 62_500)}.{n / 250 % 250}.{(n % 250) + 1}"));
        var name = string.Create(CultureInfo.InvariantCulture, $"{prefix}-{n}");
        return new ChurnPod(name, TestBackend.Start(name, new IPEndPoint(address, Port)));
    }

    public Model.Pod ToPod() => new()
    {
        Name = Name,
        Address = Address,
        Labels = new Dictionary<string, string> { ["app"] = AppLabel },
    };

    /// <summary>
    /// Ends the incarnation as a terminating pod does once the catalog stopped routing to it: after a quiet
    /// period with no new connection (a preStop sleep: a connection the proxy picked this pod for just
    /// before the update may still be connecting), its listener closes and the connections it serves finish
    /// (bounded). Returns how many had to be cut.
    /// </summary>
    public async Task<int> StopAsync()
    {
        var waited = System.Diagnostics.Stopwatch.StartNew();
        int accepted;
        do
        {
            accepted = Backend.Accepted;
            await Task.Delay(QuietPeriod);
        }
        while ((Backend.Accepted != accepted || Backend.AcceptQueueLength > 0) && waited.Elapsed < TimeSpan.FromSeconds(10));

        var cut = await Backend.StopAcceptingAsync(TimeSpan.FromSeconds(10));
        await Backend.DisposeAsync();
        return cut;
    }
}

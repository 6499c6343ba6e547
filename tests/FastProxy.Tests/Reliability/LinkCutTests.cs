using System.Diagnostics;
using System.Globalization;
using FastProxy.Model;
using Xunit.Abstractions;

namespace FastProxy.Tests.Reliability;

/// <summary>
/// The path to a pod is cut mid-stream (docs/reliability.md): the pod lives in a network namespace of the test's own,
/// reached over a veth pair whose link goes down while it streams. No FIN and no RST ever arrive; the proxy must end the
/// connection at the idle timeout, and nothing else may notice.
/// </summary>
[Collection(ReliabilitySuite.Name)]
[Trait("Category", "Reliability")]
public sealed class LinkCutTests(ITestOutputHelper output)
{
    private const int Seed = 9;
    private const int BeforeCut = 1024 * 1024;
    private static readonly TimeSpan Hung = TimeSpan.FromSeconds(15);

    [Fact]
    public async Task LinkToPodCutMidStream_IdleTimeoutEndsTheConnection_OthersUntouched()
    {
        var duration = SoakSettings.DurationOr(TimeSpan.FromSeconds(1));
        var idleTimeout = TimeSpan.FromSeconds(2);
        await using var space = await NetworkNamespace.CreateAsync();
        await using var scenario = await FaultScenario.StartAsync();
        var pod = space.Enter(() => FaultBackend.StartMany(space.PodPrefix, 1, FaultBackend.FastWriter(Seed))[0]);
        scenario.Own(pod);
        var service = await scenario.AddServiceAsync("behind-a-link", [pod], new ConnectionPolicy { IdleTimeout = idleTimeout });
        scenario.MarkBaseline();

        var ends = new List<TimeSpan>();
        foreach (var round in FaultScenario.Rounds(duration))
        {
            await space.RestoreAsync();
            await using var client = await TestClient.ConnectAsync(service);
            Assert.True(StreamPattern.Matches(await client.ReadExactlyAsync(BeforeCut), 0, Seed), "The stream arrived intact before the cut.");

            // The client keeps reading: it gets what was already on this side of the cut, intact, and then the reset.
            await space.CutAsync();
            var cut = Stopwatch.GetTimestamp();
            var (after, reset, _) = await FaultScenario.WaitForEndAsync(client.Socket, cut, Hung, (BeforeCut, Seed));
            Assert.True(reset, "The idle timeout resets the client's side.");
            Assert.True(after >= idleTimeout - TimeSpan.FromMilliseconds(50), $"Reset {after} after the cut, before the idle timeout of {idleTimeout}.");
            ends.Add(after);
        }

        // The pod never heard of the end (its link is down): the test closes its side before counting descriptors.
        await pod.DisposeAsync();
        await scenario.RecordAsync(
            output,
            "Link to the pod cut mid-stream (veth into a network namespace taken down)",
            string.Create(CultureInfo.InvariantCulture, $"{ends.Count} flat-out download(s) from a pod in a network namespace; its veth link taken down after 1 MiB (idle timeout {idleTimeout.TotalSeconds:0} s)"),
            string.Create(CultureInfo.InvariantCulture, $"nothing unannounced: no FIN or RST ever came from the pod; the client read what was on its side of the cut intact, then a RST at the idle timeout ({FaultScenario.Summary(ends)} after the cut); proxy's sockets closed, connection count back to baseline"),
            "LinkCutTests");
    }
}

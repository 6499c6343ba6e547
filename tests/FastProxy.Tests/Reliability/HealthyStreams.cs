using System.Net;

namespace FastProxy.Tests.Reliability;

/// <summary>
/// Echo connections through the proxy that must stay untouched while a scenario breaks others: each sends the
/// stream pattern in 8 KiB chunks to an echo pod and checks every byte that comes back, until stopped; stopping
/// half-closes each and expects the echo's clean FIN after the last byte. Any lost, corrupted or stalled byte
/// (10 s per operation) fails the stream. Chunks stay under the relay's 16 KiB block, so these connections never
/// move on to splice (whose pipe descriptors would appear after the scenario measured its baseline).
/// </summary>
internal sealed class HealthyStreams
{
    private const int Chunk = 8 * 1024;
    private const int MaxRounds = 10_000_000;
    private readonly List<Task> _streams = [];
    private long _verified;
    private volatile bool _stopping;

    private HealthyStreams()
    {
    }

    public long BytesVerified => Interlocked.Read(ref _verified);

    /// <summary>Opens <paramref name="count"/> streams to <paramref name="service"/>; each has made one round trip when this returns.</summary>
    public static async Task<HealthyStreams> StartAsync(IPEndPoint service, int count)
    {
        var streams = new HealthyStreams();
        for (var i = 0; i < count; i++)
        {
            var client = await TestClient.ConnectAsync(service);
            await client.ReadLineAsync();
            await streams.EchoAsync(client, 0, seed: i);
            streams._streams.Add(streams.RunAsync(client, seed: i));
        }

        return streams;
    }

    /// <summary>Stops every stream after its current chunk; fails if any of them lost or corrupted a byte or did not close cleanly.</summary>
    public async Task<long> StopAsync()
    {
        _stopping = true;
        await Task.WhenAll(_streams).WaitAsync(TimeSpan.FromSeconds(30));
        return BytesVerified;
    }

    private async Task RunAsync(TestClient client, int seed)
    {
        await using var _ = client;
        long offset = Chunk;
        for (var round = 0; round < MaxRounds && !_stopping; round++)
        {
            await EchoAsync(client, offset, seed);
            offset += Chunk;

            // A steady load, not a flood: the scenario's fault, not these streams, should have the machine.
            await Task.Delay(1);
        }

        client.ShutdownSend();
        var rest = await client.ReadToEndAsync();
        Assert.True(rest.Length == 0, $"Healthy stream {seed}: {rest.Length} unexpected byte(s) after the last echo.");
    }

    private async Task EchoAsync(TestClient client, long offset, int seed)
    {
        var chunk = new byte[Chunk];
        StreamPattern.Fill(chunk, offset, seed);
        await client.SendAsync(chunk);
        var echo = await client.ReadExactlyAsync(Chunk);
        Assert.True(StreamPattern.Matches(echo, offset, seed), $"Healthy stream {seed}: the echo at offset {offset} is not what was sent.");
        Interlocked.Add(ref _verified, Chunk);
    }
}

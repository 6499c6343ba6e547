using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;

namespace FastProxy.Tests.Reliability;

/// <summary>
/// The reliability suite's load generator: <c>loops</c> concurrent loops, each opening one short
/// connection after another to a service, reading the serving pod's greeting, sending random bytes,
/// checking they come back unchanged, half-closing and reading the peer's FIN. Bounded by a duration
/// and a connection count; every wait inside is bounded by <see cref="TestClient"/>'s timeout.
/// </summary>
internal sealed class EchoLoad
{
    private const int MaxErrorsKept = 10;
    private readonly ConcurrentQueue<string> _errors = new();
    private readonly ConcurrentDictionary<string, int> _pods = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<long> _failedBeforeGreeting = new();
    private long _succeeded;
    private long _failed;

    public long Succeeded => Interlocked.Read(ref _succeeded);

    public long Failed => Interlocked.Read(ref _failed);

    /// <summary>The first errors seen, for the failure message.</summary>
    public IReadOnlyCollection<string> Errors => _errors;

    /// <summary>When (<see cref="Stopwatch.GetTimestamp"/>) each connection failed that had not heard any pod yet.</summary>
    public IReadOnlyCollection<long> FailedBeforeGreeting => _failedBeforeGreeting;

    /// <summary>Connections served per pod name.</summary>
    public IReadOnlyDictionary<string, int> Pods => _pods;

    /// <summary>
    /// Runs the loops until <paramref name="duration"/> passed, <paramref name="maxConnections"/> were
    /// made or <paramref name="stop"/> is cancelled. Loop <c>i</c> connects from <c>sources[i % n]</c>.
    /// </summary>
    public async Task RunAsync(IPEndPoint service, IReadOnlyList<IPAddress> sources, int loops, TimeSpan duration, long maxConnections, CancellationToken stop)
    {
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, loops).Select(i => Task.Run(async () =>
        {
            var payload = new byte[256];
            while (clock.Elapsed < duration && !stop.IsCancellationRequested && Succeeded + Failed < maxConnections)
            {
                await OneConnectionAsync(service, sources[i % sources.Count], payload);
            }
        })));
    }

    /// <summary>Reads one message's echo, failing on any difference.</summary>
    public static async Task EchoAsync(TestClient client, byte[] payload)
    {
        Random.Shared.NextBytes(payload);
        await client.SendAsync(payload);
        var echoed = await client.ReadExactlyAsync(payload.Length);
        if (!echoed.AsSpan().SequenceEqual(payload))
        {
            throw new InvalidDataException($"the echo of {payload.Length} bytes differs from what was sent");
        }
    }

    private async Task OneConnectionAsync(IPEndPoint service, IPAddress source, byte[] payload)
    {
        var greeted = false;
        try
        {
            await using var client = await TestClient.ConnectAsync(service, source);
            var pod = await client.ReadLineAsync();
            if (pod.Length == 0)
            {
                throw new EndOfStreamException("closed before the pod's greeting");
            }

            greeted = true;

            await EchoAsync(client, payload);
            client.ShutdownSend();
            var rest = await client.ReadToEndAsync();
            if (rest.Length != 0)
            {
                throw new InvalidDataException($"{rest.Length} unexpected bytes after the echo");
            }

            _pods.AddOrUpdate(pod, 1, (_, n) => n + 1);
            Interlocked.Increment(ref _succeeded);
        }
        catch (Exception ex) when (ex is IOException or System.Net.Sockets.SocketException or TimeoutException or InvalidDataException)
        {
            Interlocked.Increment(ref _failed);
            if (!greeted)
            {
                _failedBeforeGreeting.Enqueue(Stopwatch.GetTimestamp());
            }

            if (_errors.Count < MaxErrorsKept)
            {
                _errors.Enqueue($"{DateTime.UtcNow:HH:mm:ss.fff} {ex.GetType().Name}: {ex.Message}");
            }
        }
    }
}

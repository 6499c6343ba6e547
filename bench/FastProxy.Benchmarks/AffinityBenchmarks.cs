using System.Net;
using BenchmarkDotNet.Attributes;
using FastProxy.Affinity;
using FastProxy.Balancing;
using FastProxy.Model;

namespace FastProxy.Benchmarks;

/// <summary>Per-connection costs around the pick: hashing the client, and a ClientIP affinity lookup in a table of 10,000 clients.</summary>
public class AffinityBenchmarks
{
    private readonly IPEndPoint _client = new(IPAddress.Parse("127.200.1.7"), 40123);
    private SessionAffinityTable _table = null!;
    private ClientAddress[] _clients = null!;
    private int _next;

    [GlobalSetup]
    public void Setup()
    {
        var endpoints = BenchmarkEndpoints.Create(16);
        _table = new SessionAffinityTable(Service.DefaultSessionAffinityTimeout, 65_536, TimeProvider.System);
        _clients = [.. Enumerable.Range(0, 10_000).Select(i => ClientAddress.From(new IPEndPoint(new IPAddress([127, 200, (byte)(i >> 8), (byte)i]), 1)))];
        for (var i = 0; i < _clients.Length; i++)
        {
            _table.Bind(_clients[i], endpoints[i % endpoints.Length]);
        }
    }

    [Benchmark]
    public PickContext HashClient() => PickContext.ForClient(_client);

    [Benchmark]
    public ulong AffinityKey() => ClientAddress.From(_client).Low;

    [Benchmark]
    public EndpointState? AffinityHit()
    {
        _table.TryGet(_clients[_next++ % 10_000], out var endpoint);
        return endpoint;
    }
}

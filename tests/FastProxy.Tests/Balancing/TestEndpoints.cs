using System.Collections.Immutable;
using System.Net;
using FastProxy.Model;

namespace FastProxy.Balancing.Tests;

/// <summary>Endpoint sets for strategy tests: pods 127.0.1.1, 127.0.1.2, ... on port 8080, all of one service port.</summary>
internal static class TestEndpoints
{
    public static ImmutableArray<EndpointState> Create(int count) => Create(Enumerable.Repeat(1, count).ToArray());

    /// <summary>One endpoint per weight, in address order, sharing one service-port load counter.</summary>
    public static ImmutableArray<EndpointState> Create(params int[] weights)
    {
        var load = new ServicePortLoad();
        return [.. weights.Select((weight, i) => new EndpointState(
            new("default", "web"),
            "",
            new IPEndPoint(new IPAddress([127, 0, (byte)(1 + ((i + 1) >> 8)), (byte)((i + 1) & 0xFF)]), 8080),
            new("default", $"web-{i + 1}"),
            weight,
            load))];
    }

    /// <summary>A context for client flow number <paramref name="flow"/> (distinct clients 10.x.y.z, distinct ports).</summary>
    public static PickContext Flow(int flow, int attempt = 0)
        => PickContext.ForClient(new IPEndPoint(new IPAddress([10, (byte)(flow >> 16), (byte)(flow >> 8), (byte)flow]), 40000 + (flow % 20000)), attempt);

    /// <summary>Opens <paramref name="count"/> connections' worth of load on an endpoint, as the forwarder would.</summary>
    public static void Open(EndpointState endpoint, int count = 1)
    {
        for (var i = 0; i < count; i++)
        {
            endpoint.OnConnecting();
            endpoint.OnConnected();
        }
    }
}

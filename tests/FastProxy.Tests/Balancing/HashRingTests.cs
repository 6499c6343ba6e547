namespace FastProxy.Balancing.Tests;

public sealed class HashRingTests
{
    [Theory]
    [InlineData(10, 1024, 1 << 20, 2000)] // 100 × 10 = 1000 < 1024: 200 each
    [InlineData(9, 1024, 1 << 20, 1800)] // the same 200 each with one endpoint fewer
    [InlineData(5, 1024, 1 << 20, 1500)] // 300 each
    [InlineData(11, 1024, 1 << 20, 1100)]
    [InlineData(10, 1024, 1024, 1020)] // 2000 would exceed the maximum: 1024 split, 102.4 each
    [InlineData(100, 1024, 1 << 20, 10_000)] // 100 per endpoint
    [InlineData(1000, 1024, 1 << 20, 100_000)]
    [InlineData(100, 16, 500, 500)] // lowered to the maximum: 5 per endpoint
    [InlineData(3, 1, 1 << 20, 300)]
    public void Build_EqualWeights_SizeIsHundredPerEndpointWithinBounds(int endpoints, int minimum, int maximum, int expected)
    {
        var ring = HashRing.Build(TestEndpoints.Create(endpoints).AsSpan(), minimum, maximum);
        Assert.Equal(expected, ring.Count);
        var perEndpoint = Enumerable.Range(0, ring.Count).GroupBy(ring.OwnerAt).Select(g => g.Count()).ToArray();
        Assert.Equal(endpoints, perEndpoint.Length);
        Assert.True(perEndpoint.Max() - perEndpoint.Min() <= 1);
    }

    [Fact]
    public void Build_Weights_NodesFollowWeights()
    {
        // 100 nodes for the lightest: 100 × (3 + 1) / 1 = 400, three times to pass the 1024 minimum: 900 / 300.
        var ring = HashRing.Build(TestEndpoints.Create(3, 1).AsSpan(), 1024, 1 << 20);
        Assert.Equal(900, Enumerable.Range(0, ring.Count).Count(p => ring.OwnerAt(p) == 0));
        Assert.Equal(300, Enumerable.Range(0, ring.Count).Count(p => ring.OwnerAt(p) == 1));

        // Weights 2:3 → 100 and 150 per multiple; 1024 needs 5 multiples: 500 / 750.
        ring = HashRing.Build(TestEndpoints.Create(2, 3).AsSpan(), 1024, 1 << 20);
        Assert.Equal(500, Enumerable.Range(0, ring.Count).Count(p => ring.OwnerAt(p) == 0));
        Assert.Equal(1250, ring.Count);
    }

    [Fact]
    public void Build_LightEndpointSqueezedByMaximum_KeepsOneNode()
    {
        // 100 × 10001 nodes would be wanted; the maximum of 1000 gives the weight-1 endpoint 0.1 of a node.
        var ring = HashRing.Build(TestEndpoints.Create(10000, 1).AsSpan(), 16, 1000);
        Assert.Equal(1, Enumerable.Range(0, ring.Count).Count(p => ring.OwnerAt(p) == 1));
        Assert.Equal(1001, ring.Count);
    }

    [Fact]
    public void Build_HashesSortedAndNodeHashIsEnvoyKey()
    {
        var endpoints = TestEndpoints.Create(4);
        var ring = HashRing.Build(endpoints.AsSpan(), 64, 1 << 20);
        for (var p = 1; p < ring.Count; p++)
        {
            Assert.True(ring.HashAt(p - 1) <= ring.HashAt(p));
        }

        // Every node hash is ClientHashing's hash of "address:port_k" for k below the endpoint's node count.
        var expected = endpoints.SelectMany((e, i) => Enumerable.Range(0, 100).Select(k => (ClientHashing.Hash($"{e.EndPoint}_{k}"), i))).Order();
        Assert.Equal(expected, Enumerable.Range(0, ring.Count).Select(p => (ring.HashAt(p), ring.OwnerAt(p))));
        Assert.Equal("127.0.1.1:8080", endpoints[0].EndPoint.ToString());
    }

    [Fact]
    public void Position_FirstNodeAtOrAfterKey_WrapsToZero()
    {
        var ring = HashRing.Build(TestEndpoints.Create(3).AsSpan(), 1, 1 << 20);
        Assert.Equal(0, ring.Position(0));
        Assert.Equal(0, ring.Position(ring.HashAt(ring.Count - 1) + 1));
        Assert.Equal(ring.Count - 1, ring.Position(ring.HashAt(ring.Count - 1)));
        Assert.Equal(5, ring.Position(ring.HashAt(5)));
        Assert.Equal(6, ring.Position(ring.HashAt(5) + 1));
    }

    [Theory]
    [InlineData(new[] { 1, 1, 1, 1, 1 }, 1)]
    [InlineData(new[] { 10000, 1, 1 }, 16)]
    [InlineData(new[] { 5, 1, 300, 2 }, 1024)]
    public void Walk_MatchesANodeByNodeWalk(int[] weights, int minimum)
    {
        var ring = HashRing.Build(TestEndpoints.Create(weights).AsSpan(), minimum, 1 << 20);
        for (var i = 0; i < 300; i++)
        {
            var key = TestEndpoints.Flow(i).ClientHash;
            for (var skip = 0; skip < weights.Length; skip++)
            {
                Assert.Equal(NodeByNode(ring, key, skip), ring.Walk(key, skip, default(AcceptAll)));
            }

            // A filter that refuses endpoint 0 (the heaviest in two of the cases): the first other endpoint clockwise.
            Assert.Equal(NodeByNode(ring, key, 0, refused: 0), ring.Walk(key, 0, new Refuse(0)));
        }
    }

    [Fact]
    public void Walk_NothingAccepted_ReturnsMinusOne()
    {
        var ring = HashRing.Build(TestEndpoints.Create(1, 1, 1).AsSpan(), 1, 1 << 20);
        Assert.Equal(-1, ring.Walk(42, 1, new Refuse(-1, all: true)));
        Assert.Equal(-1, HashRing.Build(TestEndpoints.Create(1).AsSpan(), 16, 64).Walk(42, 0, new Refuse(0)));
    }

    // The walk spelled out: node after node from the key's position, remembering distinct owners.
    private static int NodeByNode(HashRing ring, ulong key, int skip, int refused = -1)
    {
        var seen = new List<int>();
        var position = ring.Position(key);
        for (var step = 0; step < ring.Count; step++, position = (position + 1) % ring.Count)
        {
            var owner = ring.OwnerAt(position);
            if (seen.Contains(owner))
            {
                continue;
            }

            if (seen.Count < skip)
            {
                seen.Add(owner);
                continue;
            }

            if (owner != refused)
            {
                return owner;
            }
        }

        return -1;
    }

    private readonly struct Refuse(int endpoint, bool all = false) : IRingFilter
    {
        public bool Accepts(int candidate) => !all && candidate != endpoint;
    }
}

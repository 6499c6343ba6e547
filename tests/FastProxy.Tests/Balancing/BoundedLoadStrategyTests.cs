using FastProxy.Model;
using Xunit.Abstractions;

namespace FastProxy.Balancing.Tests;

public sealed class BoundedLoadStrategyTests(ITestOutputHelper output)
{
    [Fact]
    public void Pick_NoLoad_IsTheRingHashChoice()
    {
        var endpoints = TestEndpoints.Create(5);
        var bounded = new BoundedLoadStrategy().CreatePicker(endpoints);
        var ring = new RingHashStrategy().CreatePicker(endpoints);
        for (var i = 0; i < 10_000; i++)
        {
            Assert.Same(ring.Pick(TestEndpoints.Flow(i)), bounded.Pick(TestEndpoints.Flow(i)));
        }
    }

    [Fact]
    public void Pick_HashedEndpointFull_MovesToTheNextOnTheRing()
    {
        var endpoints = TestEndpoints.Create(5);
        var bounded = new BoundedLoadStrategy(1.25).CreatePicker(endpoints);
        var ring = new RingHashStrategy().CreatePicker(endpoints);
        var flow = TestEndpoints.Flow(7);

        // The ring's clockwise order of distinct endpoints for this key (ring hash's retry order).
        var walk = Enumerable.Range(0, 5).Select(a => ring.Pick(TestEndpoints.Flow(7, a))!).ToArray();
        Assert.Equal(5, walk.Distinct().Count());
        Assert.Same(walk[0], bounded.Pick(flow));

        // 4 open on the owner: capacity ceil(1.25 × (4 + 1) / 5) = 2, so the owner is full and the next
        // endpoint clockwise (empty) takes the connection.
        TestEndpoints.Open(walk[0], 4);
        Assert.Same(walk[1], bounded.Pick(flow));

        // 6 more on the last endpoint of the walk: capacity ceil(1.25 × 11 / 5) = 3; the owner (4) is still full.
        TestEndpoints.Open(walk[4], 6);
        Assert.Same(walk[1], bounded.Pick(flow));

        // 4 on the second: capacity ceil(1.25 × 15 / 5) = 4, both full, the third takes it.
        TestEndpoints.Open(walk[1], 4);
        Assert.Same(walk[2], bounded.Pick(flow));

        // One connection closes on the owner: 3 < ceil(1.25 × 14 / 5) = 4, the key is back home.
        walk[0].OnConnectionClosed();
        Assert.Same(walk[0], bounded.Pick(flow));
    }

    [Fact]
    public void Pick_OneHeavyClient_NoEndpointExceedsTheBound_OthersStayPut()
    {
        const int endpointCount = 10;
        const int connections = 10_000;
        var endpoints = TestEndpoints.Create(endpointCount);
        var bounded = new BoundedLoadStrategy(1.25).CreatePicker(endpoints);
        var ring = new RingHashStrategy().CreatePicker(endpoints);
        var random = new Random(12345);
        int moved = 0, stayed = 0;
        for (var i = 0; i < connections; i++)
        {
            // Client 0 makes about 60% of the connections, 49 others the rest: client 0's endpoint fills up.
            var client = random.NextDouble() < 0.6 ? 0 : random.Next(1, 50);
            var context = TestEndpoints.Flow(client);
            var owner = ring.Pick(context)!;
            var capacity = Math.Ceiling(1.25 * (endpoints[0].Load.ActiveConnections + 1) / endpointCount);
            var picked = bounded.Pick(context)!;
            if (owner.ActiveConnections < capacity)
            {
                // An owner with room keeps its key.
                Assert.Same(owner, picked);
                stayed++;
            }
            else
            {
                Assert.NotSame(owner, picked);
                Assert.True(picked.ActiveConnections < capacity);
                moved++;
            }

            TestEndpoints.Open(picked);
        }

        var loads = endpoints.Select(e => e.ActiveConnections).ToArray();
        var bound = (long)Math.Ceiling(1.25 * connections / endpointCount) + 1;
        output.WriteLine($"bounded-load c=1.25 N=10, 10,000 connections: loads [{string.Join(", ", loads)}], bound {bound}, moved {moved}, stayed {stayed}");
        Assert.Equal(connections, endpoints[0].Load.ActiveConnections);
        Assert.All(loads, load => Assert.True(load <= bound, $"load {load} > {bound}"));
        Assert.True(moved > 1_000, "the heavy client should have overflowed its endpoint");

        // Plain ring hash would have put about 60% on one endpoint.
        Assert.True(loads.Max() < 0.2 * connections);
    }

    [Fact]
    public void Pick_Weighted_CapacityFollowsWeight()
    {
        // Weights 3:1, 8 open on the heavy endpoint and none on the light one: the heavy endpoint's capacity is
        // ceil(1.25 × 9 × 3/4) = 9 (room), the light one's ceil(1.25 × 9 / 4) = 3.
        var endpoints = TestEndpoints.Create(3, 1);
        var bounded = new BoundedLoadStrategy().CreatePicker(endpoints);
        var ring = new RingHashStrategy().CreatePicker(endpoints);
        var flow = Enumerable.Range(0, 1000).Select(i => TestEndpoints.Flow(i)).First(f => ring.Pick(f) == endpoints[0]);
        TestEndpoints.Open(endpoints[0], 8);
        Assert.Same(endpoints[0], bounded.Pick(flow));

        // 16 open: capacity ceil(1.25 × 17 × 3/4) = ceil(15.94) = 16, full; the light endpoint's is ceil(1.25 × 17 / 4) = 6.
        TestEndpoints.Open(endpoints[0], 8);
        Assert.Same(endpoints[1], bounded.Pick(flow));
    }

    [Theory]
    [InlineData(new[] { 1, 1 })]
    [InlineData(new[] { 1, 1, 1, 1, 1 })]
    [InlineData(new[] { 10000, 1 })]
    public void Pick_RetryAttempt_ReturnsAnotherEndpoint(int[] weights)
    {
        HashingMeasures.AssertRetryDiffers(new BoundedLoadStrategy().CreatePicker(TestEndpoints.Create(weights)));
    }

    [Fact]
    public void Pick_RetryWithFullEndpoints_SkipsTheFirstChoiceAndTheFull()
    {
        var endpoints = TestEndpoints.Create(4);
        var bounded = new BoundedLoadStrategy().CreatePicker(endpoints);
        var ring = new RingHashStrategy().CreatePicker(endpoints);
        var flow = TestEndpoints.Flow(3);
        var walk = Enumerable.Range(0, 4).Select(a => ring.Pick(TestEndpoints.Flow(3, a))!).ToArray();

        // The second endpoint clockwise is full (capacity ceil(1.25 × 6 / 4) = 2, it holds 5): the retry skips the
        // first endpoint as asked and the second as full, and lands on the third.
        TestEndpoints.Open(walk[1], 5);
        Assert.Same(walk[0], bounded.Pick(flow));
        Assert.Same(walk[2], bounded.Pick(TestEndpoints.Flow(3, 1)));
    }

    [Fact]
    public void Pick_RetryAfterTheOwnerWasFull_TakesTheNextWithRoom_NotTheOneThatFailed()
    {
        var endpoints = TestEndpoints.Create(5);
        var bounded = new BoundedLoadStrategy(1.25).CreatePicker(endpoints);
        var ring = new RingHashStrategy().CreatePicker(endpoints);
        var walk = Enumerable.Range(0, 5).Select(a => ring.Pick(TestEndpoints.Flow(7, a))!).ToArray();

        // The owner is full (capacity ceil(1.25 × 5 / 5) = 2, it holds 4): attempt 0 overflows to the second
        // endpoint clockwise; its connect fails; attempt 1 must go on to the third, and attempt 2 to the fourth.
        TestEndpoints.Open(walk[0], 4);
        Assert.Same(walk[1], bounded.Pick(TestEndpoints.Flow(7)));
        Assert.Same(walk[2], bounded.Pick(TestEndpoints.Flow(7, 1)));
        Assert.Same(walk[3], bounded.Pick(TestEndpoints.Flow(7, 2)));
    }

    [Fact]
    public void Pick_SeparatelyBuiltEqualSets_Agree()
    {
        HashingMeasures.AssertSameChoices(new BoundedLoadStrategy(), 1, 1, 1, 1, 1);
        HashingMeasures.AssertSameChoices(new BoundedLoadStrategy(2, HashKey.Flow), 3, 1, 2);
    }

    [Fact]
    public void Pick_AllocatesNothing()
    {
        var endpoints = TestEndpoints.Create(16);
        TestEndpoints.Open(endpoints[0], 10);
        TestEndpoints.Open(endpoints[5], 3);
        Assert.Equal(0, PickerAllocations.Measure(new BoundedLoadStrategy().CreatePicker(endpoints)));
    }

    [Fact]
    public void CreatePicker_Empty_Throws()
    {
        Assert.Throws<ArgumentException>(() => new BoundedLoadStrategy().CreatePicker([]));
        Assert.Equal(BalancingStrategies.BoundedLoad, new BoundedLoadStrategy().Name);
    }

    [Theory]
    [InlineData(1.0)]
    [InlineData(0.5)]
    [InlineData(-2)]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    public void Constructor_LoadFactorNotAboveOne_Throws(double loadFactor)
    {
        Assert.Equal("loadFactor", Assert.Throws<ArgumentOutOfRangeException>(() => new BoundedLoadStrategy(loadFactor)).ParamName);
    }

    [Fact]
    public void Constructor_ValidatesRingAndKey()
    {
        Assert.Equal("minimumRingSize", Assert.Throws<ArgumentOutOfRangeException>(() => new BoundedLoadStrategy(minimumRingSize: 0)).ParamName);
        Assert.Equal("hashKey", Assert.Throws<ArgumentOutOfRangeException>(() => new BoundedLoadStrategy(hashKey: (HashKey)5)).ParamName);
        Assert.Equal(1.25, new BoundedLoadStrategy().LoadFactor);
    }
}

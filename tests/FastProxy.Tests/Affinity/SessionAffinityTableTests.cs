using System.Net;
using FastProxy.Affinity;
using FastProxy.Balancing.Tests;
using Microsoft.Extensions.Time.Testing;

namespace FastProxy.Affinity.Tests;

public sealed class SessionAffinityTableTests
{
    private static readonly ClientAddress Alice = ClientAddress.From(new IPEndPoint(IPAddress.Parse("10.0.0.1"), 40000));
    private static readonly ClientAddress Bob = ClientAddress.From(new IPEndPoint(IPAddress.Parse("10.0.0.2"), 40000));

    private readonly FakeTimeProvider _time = new();

    [Fact]
    public void ClientAddress_IgnoresPort_FoldsIPv4MappedIPv6()
    {
        var v4 = ClientAddress.From(new IPEndPoint(IPAddress.Parse("10.0.0.1"), 1));
        Assert.Equal(v4, ClientAddress.From(new IPEndPoint(IPAddress.Parse("10.0.0.1"), 2)));
        Assert.Equal(v4, ClientAddress.From(new IPEndPoint(IPAddress.Parse("::ffff:10.0.0.1"), 3)));
        Assert.NotEqual(v4, ClientAddress.From(new IPEndPoint(IPAddress.Parse("::a00:1"), 3)));
        Assert.NotEqual(v4, Bob);
    }

    [Fact]
    public void Bind_ThenTryGet_ReturnsTheSameEndpoint_PerClient()
    {
        var endpoints = TestEndpoints.Create(2);
        var table = new SessionAffinityTable(TimeSpan.FromSeconds(10800), 100, _time);

        Assert.False(table.TryGet(Alice, out _));
        Assert.Same(endpoints[0], table.Bind(Alice, endpoints[0]));
        Assert.Same(endpoints[1], table.Bind(Bob, endpoints[1]));

        Assert.True(table.TryGet(Alice, out var alice));
        Assert.Same(endpoints[0], alice);
        Assert.True(table.TryGet(Bob, out var bob));
        Assert.Same(endpoints[1], bob);
        Assert.Equal(2, table.Count);
    }

    [Fact]
    public void Entry_ExpiresTimeoutAfterLastUse_AndUseRefreshesIt()
    {
        var endpoints = TestEndpoints.Create(2);
        var table = new SessionAffinityTable(TimeSpan.FromSeconds(60), 100, _time);
        table.Bind(Alice, endpoints[1]);

        _time.Advance(TimeSpan.FromSeconds(59));
        Assert.True(table.TryGet(Alice, out _));

        // The lookup above refreshed the entry: 59 s later it still holds...
        _time.Advance(TimeSpan.FromSeconds(59));
        Assert.True(table.TryGet(Alice, out _));

        // ...and 60 s of silence end it.
        _time.Advance(TimeSpan.FromSeconds(60));
        Assert.False(table.TryGet(Alice, out _));
        Assert.Equal(0, table.Count);
    }

    [Fact]
    public void Entry_ToRemovedEndpoint_IsDropped()
    {
        var endpoints = TestEndpoints.Create(2);
        var table = new SessionAffinityTable(TimeSpan.FromSeconds(60), 100, _time);
        table.Bind(Alice, endpoints[0]);

        endpoints[0].MarkRemoved();

        Assert.False(table.TryGet(Alice, out _));
        Assert.Same(endpoints[1], table.Bind(Alice, endpoints[1]));
    }

    [Fact]
    public void Forget_DropsOnlyAnEntryToThatEndpoint()
    {
        var endpoints = TestEndpoints.Create(2);
        var table = new SessionAffinityTable(TimeSpan.FromSeconds(60), 100, _time);
        table.Bind(Alice, endpoints[0]);

        table.Forget(Alice, endpoints[1]);
        Assert.True(table.TryGet(Alice, out _));

        table.Forget(Alice, endpoints[0]);
        Assert.False(table.TryGet(Alice, out _));
    }

    [Fact]
    public void Bind_ConcurrentFirstConnections_AllAgreeOnOneEndpoint()
    {
        var endpoints = TestEndpoints.Create(8);
        var table = new SessionAffinityTable(TimeSpan.FromSeconds(60), 100, _time);
        var bound = new System.Collections.Concurrent.ConcurrentBag<Model.EndpointState>();

        Parallel.For(0, 64, i => bound.Add(table.Bind(Alice, endpoints[i % 8])));

        Assert.Single(bound.Distinct());
        Assert.Equal(1, table.Count);
    }

    [Fact]
    public void Full_SweepsExpiredEntries_ElseLeavesNewClientsUnrecorded()
    {
        var endpoints = TestEndpoints.Create(2);
        var table = new SessionAffinityTable(TimeSpan.FromSeconds(60), 2, _time);
        table.Bind(Alice, endpoints[0]);
        table.Bind(Bob, endpoints[0]);
        var carol = ClientAddress.From(new IPEndPoint(IPAddress.Parse("10.0.0.3"), 1));

        // Full of live clients: Carol is served with her pick but not remembered; the others keep theirs.
        Assert.Same(endpoints[1], table.Bind(carol, endpoints[1]));
        Assert.False(table.TryGet(carol, out _));
        Assert.Equal(1, table.Rejected);
        Assert.Equal(2, table.Count);

        // Once the old entries expire, a sweep makes room.
        _time.Advance(TimeSpan.FromSeconds(61));
        table.Bind(carol, endpoints[1]);
        Assert.True(table.TryGet(carol, out var carols));
        Assert.Same(endpoints[1], carols);
        Assert.Equal(1, table.Count);
    }

    [Fact]
    public void StaleEntries_AreSweptInTime_EvenWhenTheirClientsNeverReturn()
    {
        var endpoints = TestEndpoints.Create(2);
        var table = new SessionAffinityTable(TimeSpan.FromSeconds(30), 100, _time);
        table.Bind(Alice, endpoints[0]);
        table.Bind(Bob, endpoints[1]);
        endpoints[1].MarkRemoved();

        // Alice expires after 30 s of silence, Bob's endpoint left: once the sweep interval (the timeout,
        // at most a minute) has passed, the next new client's Bind drops both.
        _time.Advance(TimeSpan.FromSeconds(31));
        table.Bind(ClientAddress.From(new IPEndPoint(IPAddress.Parse("10.0.0.3"), 1)), endpoints[0]);
        Assert.Equal(1, table.Count);
    }

    [Fact]
    public void TryGet_KnownClient_AllocatesNothing()
    {
        var endpoints = TestEndpoints.Create(2);
        var table = new SessionAffinityTable(TimeSpan.FromSeconds(60), 100, _time);
        table.Bind(Alice, endpoints[0]);

        // The first run warms the JIT (on-stack replacement of the loop allocates once); the second is measured.
        AllocatedByLookups(table);
        Assert.Equal(0, AllocatedByLookups(table));
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static long AllocatedByLookups(SessionAffinityTable table)
    {
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 10_000; i++)
        {
            table.TryGet(Alice, out _);
        }

        return GC.GetAllocatedBytesForCurrentThread() - before;
    }
}

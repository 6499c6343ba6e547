using System.Net;
using FastProxy.Catalog;
using FastProxy.Model;
using FastProxy.Tests;

namespace FastProxy.Services.Tests;

/// <summary>
/// <see cref="ServiceCatalog.Changed"/> and what it reports, checked against what real connections see;
/// and an invalid update, rejected whole while the last good state keeps serving.
/// </summary>
public sealed class ChangeEventTests
{
    private static NamespacedName PodId(string name) => new("default", name);

    /// <summary>Collects every event the catalog raises; raised on the applying thread, so each Apply's events are in once it returns.</summary>
    private sealed class Recorder
    {
        private readonly List<CatalogChangedEventArgs> _events = [];

        public Recorder(ServiceCatalog catalog) => catalog.Changed += (_, e) =>
        {
            lock (_events)
            {
                _events.Add(e);
            }
        };

        public IReadOnlyList<CatalogChangedEventArgs> Events
        {
            get
            {
                lock (_events)
                {
                    return [.. _events];
                }
            }
        }

        /// <summary>The one change of the one event raised since <paramref name="count"/> events.</summary>
        public ServiceChange SingleChangeAfter(int count)
        {
            var events = Events;
            Assert.Equal(count + 1, events.Count);
            return Assert.Single(events[count].Changes);
        }
    }

    private static async Task<(ServiceTestHost Host, Recorder Recorder, TestBackend[] Pods)> StartAsync(int backends, int pods)
    {
        var host = ServiceTestHost.Create();
        try
        {
            var recorder = new Recorder(host.Catalog);
            var started = host.StartBackends(backends);
            await host.StartAsync(host.WebService(started[0].EndPoint.Port), started.Take(pods));
            return (host, recorder, started);
        }
        catch
        {
            await host.DisposeAsync();
            throw;
        }
    }

    [Fact]
    public async Task ServiceAdded_RaisesAdded_WithEveryEndpoint()
    {
        var (host, recorder, pods) = await StartAsync(backends: 2, pods: 2);
        await using var _ = host;

        var change = recorder.SingleChangeAfter(0);
        Assert.Equal(ServiceTestHost.WebId, change.Service);
        Assert.Equal(ServiceChangeKind.Added, change.Kind);
        Assert.Equal([pods[0].EndPoint, pods[1].EndPoint], change.AddedEndpoints.Select(static e => e.EndPoint).Order(EndPointOrder.Instance));
        Assert.Empty(change.RemovedEndpoints);
        Assert.Empty(change.UpdatedEndpoints);
        Assert.Same(host.Catalog.Current, recorder.Events[0].Snapshot);
        Assert.Equal(["pod-1", "pod-2"], await ServiceTestHost.ReachedAsync(host.VirtualEndPoint, 6));
    }

    [Fact]
    public async Task PodAdded_RaisesUpdated_WithTheAddedEndpoint_ThatThenReceives()
    {
        var (host, recorder, pods) = await StartAsync(backends: 2, pods: 1);
        await using var _ = host;

        var snapshot = await host.SetPodAsync(ServiceTestHost.PodOf(pods[1]));

        var change = recorder.SingleChangeAfter(1);
        Assert.Equal(ServiceChangeKind.Updated, change.Kind);
        var added = Assert.Single(change.AddedEndpoints);
        Assert.Equal(pods[1].EndPoint, added.EndPoint);
        Assert.Equal(PodId("pod-2"), added.Pod);
        Assert.Empty(change.RemovedEndpoints);
        Assert.Empty(change.UpdatedEndpoints);
        Assert.Equal([ServiceTestHost.WebId], snapshot.ChangedServices.ToArray());
        Assert.Contains(added, snapshot.Services[ServiceTestHost.WebId].Ports[0].Internal.Endpoints);

        Assert.Equal(["pod-1", "pod-2"], await ServiceTestHost.ReachedAsync(host.VirtualEndPoint, 6));
        Assert.Equal(3, added.TotalConnections);
    }

    [Fact]
    public async Task PodRemoved_RaisesUpdated_WithTheRemovedEndpoint_ThatThenGetsNothing()
    {
        var (host, recorder, pods) = await StartAsync(backends: 2, pods: 2);
        await using var _ = host;
        var endpoint = host.Snapshot().Ports[0].AllEndpoints.Single(e => e.Pod == PodId("pod-2"));

        await host.ApplyAsync(new CatalogUpdate().RemovePod(PodId("pod-2")));

        var change = recorder.SingleChangeAfter(1);
        Assert.Equal(ServiceChangeKind.Updated, change.Kind);
        Assert.Same(endpoint, Assert.Single(change.RemovedEndpoints));
        Assert.True(endpoint.IsRemoved);
        Assert.Empty(change.AddedEndpoints);
        Assert.Empty(change.UpdatedEndpoints);

        var accepted = pods[1].Accepted;
        Assert.Equal(["pod-1"], await ServiceTestHost.ReachedAsync(host.VirtualEndPoint, 4));
        Assert.Equal(accepted, pods[1].Accepted);
    }

    [Fact]
    public async Task ReadinessFlip_RaisesUpdated_WithTheSameEndpointUpdated_NotRemoved()
    {
        var (host, recorder, pods) = await StartAsync(backends: 2, pods: 2);
        await using var _ = host;
        var endpoint = host.Snapshot().Ports[0].AllEndpoints.Single(e => e.Pod == PodId("pod-2"));

        await host.SetPodAsync(ServiceTestHost.PodOf(pods[1]) with { Ready = false });

        var change = recorder.SingleChangeAfter(1);
        Assert.Equal(ServiceChangeKind.Updated, change.Kind);
        Assert.Same(endpoint, Assert.Single(change.UpdatedEndpoints));
        Assert.Empty(change.AddedEndpoints);
        Assert.Empty(change.RemovedEndpoints);
        Assert.False(endpoint.IsRemoved);
        Assert.False(endpoint.Conditions.Ready);
        var accepted = pods[1].Accepted;
        Assert.Equal(["pod-1"], await ServiceTestHost.ReachedAsync(host.VirtualEndPoint, 4));
        Assert.Equal(accepted, pods[1].Accepted);

        // And back: ready again, the same endpoint, updated once more; it takes connections again.
        await host.SetPodAsync(ServiceTestHost.PodOf(pods[1]));

        change = recorder.SingleChangeAfter(2);
        Assert.Same(endpoint, Assert.Single(change.UpdatedEndpoints));
        Assert.True(endpoint.Conditions.Ready);
        Assert.Equal(["pod-1", "pod-2"], await ServiceTestHost.ReachedAsync(host.VirtualEndPoint, 6));
    }

    [Fact]
    public async Task ServiceRemoved_RaisesRemoved_WithEveryEndpoint_AndStopsListening()
    {
        var (host, recorder, _) = await StartAsync(backends: 2, pods: 2);
        await using var __ = host;
        var endpoints = host.Snapshot().Ports[0].AllEndpoints;

        await host.ApplyAsync(new CatalogUpdate().RemoveService(ServiceTestHost.WebId));

        var change = recorder.SingleChangeAfter(1);
        Assert.Equal(ServiceChangeKind.Removed, change.Kind);
        Assert.Equal(endpoints.Length, change.RemovedEndpoints.Length);
        Assert.All(endpoints, e => Assert.Contains(e, change.RemovedEndpoints));
        Assert.All(endpoints, static e => Assert.True(e.IsRemoved));
        Assert.Equal(ServiceTestHost.Refused, await ServiceTestHost.OutcomeAsync(host.VirtualEndPoint));
    }

    [Fact]
    public async Task PodOfNoService_RaisesNothing()
    {
        var (host, recorder, _) = await StartAsync(backends: 1, pods: 1);
        await using var __ = host;
        var version = host.Catalog.Current.Version;

        var snapshot = host.Catalog.SetPod(new Pod { Name = "other", Address = host.At(50), Labels = new Dictionary<string, string> { ["app"] = "other" } });

        Assert.Equal(version, snapshot.Version);
        Assert.Single(recorder.Events);
    }

    [Fact]
    public async Task BatchOfSeveralChanges_OneEvent_DescribingAllOfThem()
    {
        var (host, recorder, pods) = await StartAsync(backends: 3, pods: 2);
        await using var _ = host;

        await host.ApplyAsync(new CatalogUpdate()
            .RemovePod(PodId("pod-1"))
            .SetPod(ServiceTestHost.PodOf(pods[1]) with { Ready = false })
            .SetPod(ServiceTestHost.PodOf(pods[2])));

        var change = recorder.SingleChangeAfter(1);
        Assert.Equal([pods[2].EndPoint], change.AddedEndpoints.Select(static e => e.EndPoint));
        Assert.Equal([pods[0].EndPoint], change.RemovedEndpoints.Select(static e => e.EndPoint));
        Assert.Equal([pods[1].EndPoint], change.UpdatedEndpoints.Select(static e => e.EndPoint));
        Assert.Equal(["pod-3"], await ServiceTestHost.ReachedAsync(host.VirtualEndPoint, 4));
    }

    [Fact]
    public async Task InvalidUpdate_RejectedWhole_NoEvent_LastGoodStateKeepsServing()
    {
        var (host, recorder, pods) = await StartAsync(backends: 3, pods: 2);
        await using var _ = host;
        var before = host.Catalog.Current;

        // A valid pod and a removal in the same batch as an invalid service: none of it applies.
        var update = new CatalogUpdate()
            .SetPod(ServiceTestHost.PodOf(pods[2]))
            .RemovePod(PodId("pod-1"))
            .SetService(host.WebService(pods[0].EndPoint.Port) with { Ports = [new ServicePort { Port = 70000 }] });
        var rejected = Assert.Throws<CatalogValidationException>(() => host.Catalog.Apply(update));

        Assert.Contains(rejected.Errors, static e => e.Field == "spec.ports[0].port");
        Assert.Same(before, host.Catalog.Current);
        Assert.Single(recorder.Events);
        Assert.Equal(["pod-1", "pod-2"], await ServiceTestHost.ReachedAsync(host.VirtualEndPoint, 6));
        Assert.Equal(0, pods[2].Accepted);

        // The catalog still takes valid updates afterwards.
        await host.SetPodAsync(ServiceTestHost.PodOf(pods[2]));
        Assert.Equal(["pod-1", "pod-2", "pod-3"], await ServiceTestHost.ReachedAsync(host.VirtualEndPoint, 9));
    }

    [Fact]
    public async Task InvalidServiceChange_ListenerKeepsItsAddress()
    {
        var (host, _, pods) = await StartAsync(backends: 1, pods: 1);
        await using var __ = host;
        var (_, otherIP) = TestAddresses.Next();

        // Moving the service to another address is fine; a bad port in the same definition rejects the move.
        var bad = host.WebService(pods[0].EndPoint.Port) with
        {
            ClusterIP = otherIP,
            Ports = [new ServicePort { Port = ServiceTestHost.ServicePort, TargetPort = 70000 }],
        };
        Assert.Throws<CatalogValidationException>(() => host.Catalog.SetService(bad));

        Assert.Equal("pod-1", await TestClient.WhoServesAsync(host.VirtualEndPoint));
        Assert.Equal(ServiceTestHost.Refused, await ServiceTestHost.OutcomeAsync(new IPEndPoint(otherIP, ServiceTestHost.ServicePort)));
    }

    private sealed class EndPointOrder : IComparer<IPEndPoint>
    {
        public static readonly EndPointOrder Instance = new();

        public int Compare(IPEndPoint? x, IPEndPoint? y) => string.CompareOrdinal(x?.ToString(), y?.ToString());
    }
}

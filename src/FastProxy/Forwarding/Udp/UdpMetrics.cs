using System.Diagnostics.Metrics;

namespace FastProxy.Forwarding.Udp;

/// <summary>
/// UDP instruments on the proxy's meter, per service (docs/metrics.md). Observed at collection time from
/// each service's <see cref="UdpCounters"/>, so forwarding a datagram records nothing but Interlocked adds.
/// </summary>
internal static class UdpMetrics
{
    public static void Register(Meter meter, Func<UdpSessionTable[]> tables)
    {
        meter.CreateObservableUpDownCounter("fastproxy.udp.sessions.active", () => Observe(tables(), static t => t.Count), "{session}", "UDP sessions open now, per service.");
        meter.CreateObservableCounter("fastproxy.udp.sessions", () => Observe(tables(), static t => t.Counters.Created), "{session}", "UDP sessions opened since the service got its first UDP port.");
        meter.CreateObservableCounter("fastproxy.udp.sessions.ended", () => ObserveEnded(tables()), "{session}", "UDP sessions ended (reason=expired: idle timeout; evicted: least recently used under the cap; closed: listener closed, no endpoint left or source ranges).");
        meter.CreateObservableCounter("fastproxy.udp.sessions.repicked", () => Observe(tables(), static t => t.Counters.Repicked), "{session}", "UDP sessions moved to another endpoint because theirs left the route.");
        meter.CreateObservableCounter("fastproxy.udp.datagrams", () => ObserveDirections(tables(), static (c, to) => to ? c.DatagramsToEndpoint : c.DatagramsFromEndpoint), "{datagram}", "UDP datagrams forwarded to (direction=to_endpoint) and from (direction=from_endpoint) endpoints.");
        meter.CreateObservableCounter("fastproxy.udp.bytes", () => ObserveDirections(tables(), static (c, to) => to ? c.BytesToEndpoint : c.BytesFromEndpoint), "By", "UDP payload bytes forwarded to (direction=to_endpoint) and from (direction=from_endpoint) endpoints.");
        meter.CreateObservableCounter("fastproxy.udp.datagrams.dropped", () => ObserveDropped(tables()), "{datagram}", "Datagrams from clients not forwarded (reason=no_endpoint, source_range, failed).");
    }

    private static IEnumerable<Measurement<long>> Observe(UdpSessionTable[] tables, Func<UdpSessionTable, long> value)
    {
        foreach (var table in tables)
        {
            yield return new Measurement<long>(value(table), new KeyValuePair<string, object?>("service", table.ServiceLabel));
        }
    }

    private static IEnumerable<Measurement<long>> ObserveDirections(UdpSessionTable[] tables, Func<UdpCounters, bool, long> value)
    {
        foreach (var table in tables)
        {
            yield return new Measurement<long>(value(table.Counters, true), new("service", table.ServiceLabel), new("direction", "to_endpoint"));
            yield return new Measurement<long>(value(table.Counters, false), new("service", table.ServiceLabel), new("direction", "from_endpoint"));
        }
    }

    private static IEnumerable<Measurement<long>> ObserveEnded(UdpSessionTable[] tables)
    {
        foreach (var table in tables)
        {
            yield return new Measurement<long>(table.Counters.Ended(UdpSessionEnd.Expired), new("service", table.ServiceLabel), new("reason", "expired"));
            yield return new Measurement<long>(table.Counters.Ended(UdpSessionEnd.Evicted), new("service", table.ServiceLabel), new("reason", "evicted"));
            yield return new Measurement<long>(table.Counters.Ended(UdpSessionEnd.Closed), new("service", table.ServiceLabel), new("reason", "closed"));
        }
    }

    private static IEnumerable<Measurement<long>> ObserveDropped(UdpSessionTable[] tables)
    {
        foreach (var table in tables)
        {
            yield return new Measurement<long>(table.Counters.Dropped(UdpDrop.NoEndpoint), new("service", table.ServiceLabel), new("reason", "no_endpoint"));
            yield return new Measurement<long>(table.Counters.Dropped(UdpDrop.SourceRange), new("service", table.ServiceLabel), new("reason", "source_range"));
            yield return new Measurement<long>(table.Counters.Dropped(UdpDrop.Failed), new("service", table.ServiceLabel), new("reason", "failed"));
        }
    }
}

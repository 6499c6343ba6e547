using System.Net;
using FastProxy.Model;

namespace FastProxy.Health.Tests;

/// <summary>Endpoints and a recording event sink for the health engine's unit tests.</summary>
internal static class HealthTestKit
{
    public static readonly NamespacedName Web = new("default", "web");

    public static EndpointState Endpoint(int host = 1, int port = 8080, string service = "web")
        => new(new NamespacedName("default", service), string.Empty, new IPEndPoint(IPAddress.Parse($"10.0.0.{host}"), port), new NamespacedName("default", $"pod-{host}"));

    /// <summary>Records every transition a tracker reports, in order.</summary>
    public sealed class RecordingEvents : IHealthEvents
    {
        private readonly List<(HealthEvent Change, HealthReason Reason, TimeSpan EjectedFor)> _seen = [];

        public IReadOnlyList<(HealthEvent Change, HealthReason Reason, TimeSpan EjectedFor)> Seen
        {
            get
            {
                lock (_seen)
                {
                    return [.. _seen];
                }
            }
        }

        public void OnHealthChanged(EndpointHealthTracker tracker, HealthEvent change, HealthReason reason, string detail, TimeSpan ejectedFor)
        {
            lock (_seen)
            {
                _seen.Add((change, reason, ejectedFor));
            }
        }
    }
}

using System.Net;
using FastProxy.Catalog;
using FastProxy.Dns;
using FastProxy.Model;
using FastProxy.Sidecar.Admin;
using FastProxy.Sidecar.Commands;
using Microsoft.Extensions.Logging;

namespace FastProxy.Sidecar.Demo;

/// <summary>
/// The no-argument mode: three demo pods on 127.0.1.1-3:8080 and a service <c>web</c> on a loopback
/// virtual IP in front of them, with the admin server and its dashboard on 127.0.0.1:9901 and the
/// embedded DNS server on 127.0.0.1:5353, until Ctrl+C or SIGTERM.
/// </summary>
internal static class DemoCommand
{
    /// <summary>The demo's virtual IP: inside the default service CIDR (127.96.0.0/12), so it binds with no setup.</summary>
    public static readonly IPAddress VirtualIP = IPAddress.Parse("127.96.0.10");

    /// <summary>The demo service's port. Not 80, so the demo runs without root.</summary>
    public const int ServicePort = 8080;

    private const int PodPort = 8080;

    public static async Task<int> RunAsync(CancellationToken cancellationToken)
    {
        using var loggerFactory = LoggerFactory.Create(logging => logging
            .AddSimpleConsole(console => { console.SingleLine = true; console.TimestampFormat = "HH:mm:ss "; })
            .SetMinimumLevel(LogLevel.Information));

        var pods = Enumerable.Range(1, 3)
            .Select(i => (Name: $"web-{i}", EndPoint: new IPEndPoint(IPAddress.Parse($"127.0.1.{i}"), PodPort)))
            .ToArray();

        await using var backends = await DemoPods.StartAsync(pods, cancellationToken).ConfigureAwait(false);

        var catalog = new ServiceCatalog();
        var update = new CatalogUpdate().SetService(new Service
        {
            Name = "web",
            ClusterIP = VirtualIP,
            Selector = new LabelSelector(new Dictionary<string, string> { ["app"] = "web" }),
            Ports = [new ServicePort { Name = "http", Port = ServicePort, TargetPort = PodPort }],
        });
        foreach (var (name, endPoint) in pods)
        {
            update.SetPod(new Pod { Name = name, Address = endPoint.Address, Labels = new Dictionary<string, string> { ["app"] = "web", ["pod"] = name } });
        }

        catalog.Apply(update);

        // Created before the proxy, which must take its meter from it to appear on /metrics; disposed last.
        using var telemetry = new SidecarTelemetry();
        await using var proxy = new ProxyServerBuilder(catalog)
            .UseSockets()
            .UseLoggerFactory(loggerFactory)
            .UseSidecarTelemetry(telemetry)
            .Configure(options => options.ShutdownTimeout = TimeSpan.FromSeconds(5))
            .Build();
        await proxy.StartAsync(cancellationToken).ConfigureAwait(false);

        await using var admin = new AdminServer(catalog, proxy, telemetry, new AdminServerOptions(), loggerFactory);
        var dashboard = "(not running: " + AdminServerOptions.DefaultEndPoint + " is in use)";
        try
        {
            await admin.StartAsync(cancellationToken).ConfigureAwait(false);
            dashboard = admin.DashboardUri!.ToString();
        }
        catch (IOException ex)
        {
            // The demo is for looking around: a second demo (or anything else on 9901) should not stop
            // the proxy from running, only the dashboard.
            Console.Error.WriteLine($"Admin server not started: {ex.Message}");
        }

        // DNS as `run` serves it by default; like the dashboard, a taken address only costs the demo its DNS.
        var dnsProblem = string.Empty;
        await using var dns = await SidecarDns.StartAsync(
            catalog, ClusterDnsOptions.DefaultEndPoint, explicitlyGiven: false, new ClusterDnsOptions().ClusterDomain, loggerFactory, problem => dnsProblem = problem, cancellationToken).ConfigureAwait(false);
        var dig = dns?.LocalEndPoint is { } dnsEndPoint
            ? $"{SidecarDns.DigCommand(dnsEndPoint, "web.default.svc.cluster.local")}   (answers {VirtualIP})"
            : dnsProblem;

        Console.WriteLine($"""

            FastProxy demo is running.
              pods:    {string.Join(", ", pods.Select(p => $"{p.Name} {p.EndPoint}"))}  (label app=web)
              service: default/web  ClusterIP {VirtualIP}  port {ServicePort} -> targetPort {PodPort}  balancer RoundRobin

            Try it (each request goes to the next pod in turn):
              for i in 1 2 3 4 5 6; do curl -s http://{VirtualIP}:{ServicePort}/; done

            Look it up (the embedded DNS server, Kubernetes names):
              {dig}

            Watch it: dashboard {dashboard}  (also /metrics, /api/services, /api/endpoints, /healthz)

            Press Ctrl+C to stop.

            """);

        try
        {
            await Task.Delay(Timeout.Infinite, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Ctrl+C or SIGTERM: fall through to a graceful stop.
        }

        Console.WriteLine("Stopping: closing listeners and letting open connections finish (up to 5 s).");
        // Admin first, so /healthz stops saying "ok" before the proxy stops serving.
        await admin.StopAsync(CancellationToken.None).ConfigureAwait(false);
        await proxy.StopAsync(CancellationToken.None).ConfigureAwait(false);
        Console.WriteLine("Stopped.");
        return 0;
    }
}

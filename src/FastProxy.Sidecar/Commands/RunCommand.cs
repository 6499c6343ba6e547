using System.CommandLine;
using System.Net;
using System.Text;
using FastProxy.Catalog;
using FastProxy.Dns;
using FastProxy.Manifests;
using FastProxy.Model;
using FastProxy.Sidecar.Admin;
using Microsoft.Extensions.Logging;

namespace FastProxy.Sidecar.Commands;

/// <summary>
/// <c>fastproxy run -f PATH...</c>: serves the Services in the manifests, reloads them when they change
/// (keeping the last good state when a reload fails), and on SIGTERM or Ctrl+C stops listening and lets
/// open connections finish for up to <c>--drain-timeout</c>.
/// </summary>
internal static partial class RunCommand
{
    private static readonly TimeSpan Debounce = TimeSpan.FromMilliseconds(200);
    private static readonly TimeSpan MaxDebounce = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(2);

    private static readonly Option<TimeSpan> DrainTimeoutOption = SidecarOptions.DrainTimeout();

    internal sealed record Settings(
        IReadOnlyList<string> Paths,
        string Namespace,
        IPNetwork ServiceCidr,
        IReadOnlyList<IPAddress> NodeAddresses,
        string? NodeName,
        string? Zone,
        IPEndPoint? Admin,
        string? AdminToken,
        bool Watch,
        TimeSpan DrainTimeout,
        IPEndPoint? Dns = null,
        bool DnsGiven = false,
        string ClusterDomain = "cluster.local",
        KubernetesSource.Settings? Kubernetes = null,
        bool ReusePort = false,
        EtcdSource.Settings? Etcd = null);

    public static Command Create()
    {
        var files = SidecarOptions.Files("Manifest file or folder (*.yaml, *.yml, *.json) to serve; repeat for several.");
        files.Required = false;   // or --kubernetes or --etcd: ServiceSources checks that exactly one is given
        var ns = SidecarOptions.Namespace();
        var cidr = SidecarOptions.ServiceCidr();
        var nodeAddresses = SidecarOptions.NodeAddresses();
        var nodeName = SidecarOptions.NodeName();
        var zone = SidecarOptions.Zone();
        var admin = SidecarOptions.Admin();
        var adminToken = SidecarOptions.AdminToken();
        var watch = SidecarOptions.Watch();
        var noWatch = SidecarOptions.NoWatch();
        var dns = SidecarOptions.Dns();
        var clusterDomain = SidecarOptions.ClusterDomain();
        var reusePort = SidecarOptions.ReusePort();
        var etcd = EtcdSource.EndpointOption();
        var etcdPrefix = EtcdSource.PrefixOption();
        var command = new Command("run", "Serve the Services in the manifests (Service, Pod, Endpoints, EndpointSlice) and reload them when the files change; or serve and follow those of a cluster (--kubernetes) or kept in etcd (--etcd).")
        {
            files, ns, cidr, nodeAddresses, nodeName, zone, admin, adminToken, watch, noWatch, DrainTimeoutOption, dns, clusterDomain, reusePort,
        };
        KubernetesSource.AddTo(command);
        EtcdSource.AddTo(command, etcd, etcdPrefix);
        command.Validators.Add(result => ServiceSources.ValidateOne(result, files, KubernetesSource.EnabledOption, etcd));
        command.Validators.Add(result =>
        {
            if (result.GetResult(watch) is { Implicit: false } && result.GetResult(noWatch) is { Implicit: false })
            {
                result.AddError("--watch, --no-watch: give one of them");
            }

            // The Kubernetes and etcd sources always follow their changes: a --no-watch there would be ignored.
            if (result.GetValue(KubernetesSource.EnabledOption) || result.GetResult(etcd) is { Implicit: false })
            {
                foreach (var option in new Option[] { watch, noWatch })
                {
                    if (result.GetResult(option) is { Implicit: false })
                    {
                        result.AddError($"{option.Name}: only with -f files (--kubernetes and --etcd always follow their changes)");
                    }
                }
            }
        });
        command.SetAction((result, cancellationToken) => RunAsync(
            new Settings(
                result.GetValue(files) ?? [],
                result.GetRequiredValue(ns),
                result.GetRequiredValue(cidr),
                result.GetRequiredValue(nodeAddresses),
                result.GetValue(nodeName),
                result.GetValue(zone),
                SidecarOptions.EndPointOrNull(result.GetValue(admin)),
                SidecarOptions.AdminTokenOrVariable(result.GetValue(adminToken)),
                !result.GetValue(noWatch),
                result.GetRequiredValue(DrainTimeoutOption),
                SidecarOptions.EndPointOrNull(result.GetValue(dns)),
                result.GetResult(dns) is { Implicit: false },
                result.GetRequiredValue(clusterDomain),
                KubernetesSource.Read(result, ns),
                result.GetValue(reusePort),
                result.GetValue(etcd) is { } etcdEndpoint ? new EtcdSource.Settings(etcdEndpoint, result.GetRequiredValue(etcdPrefix)) : null),
            cancellationToken));
        return command;
    }

    /// <summary>How long System.CommandLine lets the command stop after SIGTERM: the drain, plus the admin server's stop and some slack.</summary>
    public static TimeSpan TerminationTimeout(ParseResult result)
        => (result.CommandResult.Command.Name == "run" ? result.GetValue(DrainTimeoutOption) : TimeSpan.Zero) + TimeSpan.FromSeconds(10);

    public static async Task<int> RunAsync(Settings settings, CancellationToken cancellationToken)
    {
        using var loggerFactory = LoggerFactory.Create(logging => logging
            .AddSimpleConsole(console => { console.SingleLine = true; console.TimestampFormat = "HH:mm:ss "; })
            .SetMinimumLevel(LogLevel.Information));
        var logger = loggerFactory.CreateLogger("FastProxy.Sidecar.Run");

        var catalogOptions = SidecarOptions.CatalogOptions(settings.ServiceCidr, settings.NodeAddresses, settings.NodeName, settings.Zone);
        catalogOptions.LoggerFactory = loggerFactory;

        var catalog = new ServiceCatalog(catalogOptions);
        var fingerprint = string.Empty;
        var set = ManifestSet.Empty;
        // Disposed here only on the way out; a normal stop stops them earlier, before the drain (StopSourcesAsync).
        await using var kubernetes = settings.Kubernetes is { } kubernetesSettings
            ? await KubernetesSource.StartAsync(kubernetesSettings, catalog, loggerFactory, cancellationToken).ConfigureAwait(false)
            : null;

        // etcd lists, watches and keeps the last good state by itself, as the Kubernetes source does
        // (ServiceSources allows one source, so at most one of the two starts).
        await using var etcd = settings.Etcd is { } etcdSettings
            ? await EtcdSource.StartAsync(catalog, etcdSettings, settings.Namespace, loggerFactory, cancellationToken).ConfigureAwait(false)
            : null;
        if (cancellationToken.IsCancellationRequested && (settings.Kubernetes is not null || settings.Etcd is not null))
        {
            // Ctrl+C or SIGTERM while waiting for the first sync: the source is stopped and nothing was
            // served yet; a normal stop, as from the main loop.
            Log.Stopped(logger);
            return 0;
        }

        if (settings.Kubernetes is not null && kubernetes is null)
        {
            return 1;
        }

        var fromFiles = kubernetes is null && etcd is null;
        if (fromFiles)
        {
            // First load: anything wrong is printed and nothing is served.
            fingerprint = ManifestFiles.Fingerprint(settings.Paths);
            set = SidecarOptions.Load(settings.Paths, settings.Namespace);
            if (set.HasErrors)
            {
                SidecarOptions.WriteDiagnostics(Console.Error, set.Diagnostics);
                await Console.Error.WriteLineAsync("fastproxy run: the manifests have errors (above); not serving.").ConfigureAwait(false);
                return 1;
            }

            SidecarOptions.WriteDiagnostics(Console.Error, set.Diagnostics);   // warnings
            try
            {
                catalog.Apply(set.ToCatalogUpdate());
            }
            catch (CatalogValidationException ex)
            {
                SidecarOptions.WriteDiagnostics(Console.Error, SidecarOptions.Locate(set, ex, catalogOptions));
                await Console.Error.WriteLineAsync("fastproxy run: the manifests have errors (above); not serving.").ConfigureAwait(false);
                return 1;
            }
        }

        // Created before the proxy, which must take its meter from it to appear on /metrics; disposed last.
        using var telemetry = new SidecarTelemetry();
        await using var proxy = new ProxyServerBuilder(catalog)
            .UseSockets(options => options.ReusePort = settings.ReusePort)
            .UseLoggerFactory(loggerFactory)
            .UseSidecarTelemetry(telemetry)
            .Configure(options => options.ShutdownTimeout = settings.DrainTimeout)
            .Build();
        await proxy.StartAsync(cancellationToken).ConfigureAwait(false);

        AdminServer? admin = null;
        ClusterDnsServer? dns = null;
        try
        {
            try
            {
                dns = await SidecarDns.StartAsync(catalog, settings.Dns, settings.DnsGiven, settings.ClusterDomain, loggerFactory, Console.Error.WriteLine, cancellationToken).ConfigureAwait(false);
            }
            catch (System.Net.Sockets.SocketException ex)
            {
                await Console.Error.WriteLineAsync($"fastproxy run: --dns {settings.Dns}: cannot listen: {ex.Message} (choose another address, or --dns off)").ConfigureAwait(false);
                await StopSourcesAsync(kubernetes, etcd).ConfigureAwait(false);
                await proxy.StopAsync(CancellationToken.None).ConfigureAwait(false);
                return 1;
            }

            if (settings.Admin is { } adminEndPoint)
            {
                admin = new AdminServer(catalog, proxy, telemetry, new AdminServerOptions { EndPoint = adminEndPoint, BearerToken = settings.AdminToken, WriteSources = etcd is null ? null : writer => EtcdSource.WriteStatus(writer, etcd) }, loggerFactory);
                try
                {
                    await admin.StartAsync(cancellationToken).ConfigureAwait(false);
                }
                catch (IOException ex)
                {
                    await Console.Error.WriteLineAsync($"fastproxy run: --admin {adminEndPoint}: cannot listen: {ex.Message} (choose another address, or --admin off)").ConfigureAwait(false);
                    await StopSourcesAsync(kubernetes, etcd).ConfigureAwait(false);
                    await proxy.StopAsync(CancellationToken.None).ConfigureAwait(false);
                    return 1;
                }
            }

            var source = kubernetes is not null ? KubernetesSource.Describe(settings.Kubernetes!, kubernetes)
                : etcd is not null ? EtcdSource.Describe(etcd)
                : settings.Watch ? "  watching the manifests: changes are applied as they are saved" : "  not watching the manifests (--no-watch)";
            Console.WriteLine(Banner(catalog.Current, admin?.DashboardUri, dns?.LocalEndPoint, settings, source));

            using var watcher = settings.Watch && fromFiles ? new ManifestWatcher(settings.Paths, PollInterval, fingerprint) : null;
            var lastGood = set;
            try
            {
                while (true)
                {
                    if (watcher is null)
                    {
                        await Task.Delay(Timeout.Infinite, cancellationToken).ConfigureAwait(false);
                        continue;
                    }

                    await watcher.WaitForChangeAsync(cancellationToken).ConfigureAwait(false);
                    lastGood = await ReloadAsync(settings, catalog, proxy, telemetry, catalogOptions, watcher, lastGood, logger, cancellationToken).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                // Ctrl+C or SIGTERM: fall through to a graceful stop.
            }

            Log.Stopping(logger, settings.DrainTimeout.TotalSeconds, proxy.ActiveConnections);
        }
        finally
        {
            // The source first: the catalog must not change while the proxy drains.
            await StopSourcesAsync(kubernetes, etcd).ConfigureAwait(false);

            // Admin next, so /healthz stops saying "ok" before the proxy stops serving.
            if (admin is not null)
            {
                await admin.StopAsync(CancellationToken.None).ConfigureAwait(false);
                await admin.DisposeAsync().ConfigureAwait(false);
            }

            if (dns is not null)
            {
                await dns.DisposeAsync().ConfigureAwait(false);
            }
        }

        await proxy.StopAsync(CancellationToken.None).ConfigureAwait(false);
        Log.Stopped(logger);
        return 0;
    }

    private static async Task StopSourcesAsync(FastProxy.Kubernetes.KubernetesCatalogSource? kubernetes, FastProxy.Etcd.EtcdCatalogSource? etcd)
    {
        if (kubernetes is not null)
        {
            await kubernetes.StopAsync().ConfigureAwait(false);
        }

        if (etcd is not null)
        {
            await etcd.StopAsync(CancellationToken.None).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// One reload: waits for the files to be quiet (editors write in several steps), reads the whole set,
    /// and applies it only when it read cleanly and nothing changed while it was read; otherwise keeps
    /// the last good state. Returns the set now applied.
    /// </summary>
    private static async Task<ManifestSet> ReloadAsync(
        Settings settings, ServiceCatalog catalog, ProxyServer proxy, SidecarTelemetry telemetry, ServiceCatalogOptions catalogOptions,
        ManifestWatcher watcher, ManifestSet lastGood, ILogger logger, CancellationToken cancellationToken)
    {
        var started = DateTime.UtcNow;
        do
        {
            await Task.Delay(Debounce, cancellationToken).ConfigureAwait(false);
        }
        while (watcher.TryTakeChange() && DateTime.UtcNow - started < MaxDebounce);

        var before = ManifestFiles.Fingerprint(settings.Paths);
        watcher.Loaded(before);
        var set = SidecarOptions.Load(settings.Paths, settings.Namespace);
        if (!string.Equals(before, ManifestFiles.Fingerprint(settings.Paths), StringComparison.Ordinal))
        {
            // Written while we read it: never apply what may be half a file. The watcher has seen the
            // write (or the poll will), and the next round reads the finished file.
            return lastGood;
        }

        if (set.HasErrors)
        {
            LogDiagnostics(logger, set.Diagnostics);
            telemetry.Metrics.ReloadFailed();
            Log.ReloadFailed(logger, set.Diagnostics.Count(d => d.Severity == ManifestSeverity.Error), catalog.Current.Version);
            return lastGood;
        }

        LogDiagnostics(logger, set.Diagnostics);   // warnings
        var update = set.ToCatalogUpdate(lastGood);
        if (update.IsEmpty)
        {
            telemetry.Metrics.ReloadSucceeded();
            Log.ReloadedNoChange(logger, catalog.Current.Version);
            return set;
        }

        CatalogSnapshot snapshot;
        try
        {
            snapshot = catalog.Apply(update);
        }
        catch (CatalogValidationException ex)
        {
            var located = SidecarOptions.Locate(set, ex, catalogOptions);
            LogDiagnostics(logger, located);
            telemetry.Metrics.ReloadFailed();
            Log.ReloadFailed(logger, located.Count, catalog.Current.Version);
            return lastGood;
        }

        try
        {
            // The listeners follow the catalog asynchronously; report the reload once it is in effect.
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(10));
            await proxy.WhenAppliedAsync(snapshot.Version, timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // Slow to bind; the reload still happened.
        }

        telemetry.Metrics.ReloadSucceeded();
        var changed = snapshot.ChangedServices.IsEmpty ? "none" : string.Join(", ", snapshot.ChangedServices.Order().Select(s => s.ToString()));
        Log.Reloaded(logger, snapshot.Version, changed);
        return set;
    }

    private static void LogDiagnostics(ILogger logger, IEnumerable<ManifestDiagnostic> diagnostics)
    {
        foreach (var diagnostic in diagnostics)
        {
            if (diagnostic.Severity == ManifestSeverity.Error)
            {
                Log.ManifestError(logger, diagnostic.ToString());
            }
            else
            {
                Log.ManifestWarning(logger, diagnostic.ToString());
            }
        }
    }

    private static string Banner(CatalogSnapshot snapshot, Uri? dashboard, IPEndPoint? dns, Settings settings, string source)
    {
        var text = new StringBuilder();
        text.AppendLine().AppendLine($"FastProxy is running: {snapshot.Services.Count} service(s), catalog version {snapshot.Version}.");
        foreach (var service in snapshot.Services.Values.OrderBy(s => s.Id.ToString(), StringComparer.Ordinal))
        {
            text.Append("  ").Append(service.Id.ToString()).Append("  ").Append(service.Service.Type);
            if (service.Service.Type == ServiceType.ExternalName)
            {
                text.Append(' ').Append(service.Service.ExternalName);
            }
            else if (service.ClusterIP is null)
            {
                text.Append(" headless");
            }

            text.AppendLine();
            foreach (var port in service.Ports)
            {
                var name = port.Port.Name.Length > 0 ? port.Port.Name : "(unnamed)";
                text.Append("    ").Append(name).Append(' ').Append(port.Port.Protocol.ToString().ToUpperInvariant()).Append(": ");
                var where = new List<string>();
                if (port.VirtualEndPoint is { } vip)
                {
                    where.Add(vip.ToString());
                }

                where.AddRange(port.NodePortEndPoints.Select(e => $"node port {e}"));
                where.AddRange(port.ExternalEndPoints.Select(e => $"external {e}"));
                where.AddRange(port.LoadBalancerEndPoints.Select(e => $"load balancer {e}"));
                text.Append(where.Count > 0 ? string.Join(", ", where) : "(no listener)");
                text.Append("  endpoints ").Append(port.AllEndpoints.Length).AppendLine();
            }
        }

        text.AppendLine(dashboard is null ? "  admin: off" : $"  admin: dashboard {dashboard}  (also /metrics, /api/services, /api/endpoints, /healthz)");
        var example = snapshot.Services.Keys.OrderBy(id => id.ToString(), StringComparer.Ordinal).Select(id => $"{id.Name}.{id.Namespace}.svc.{settings.ClusterDomain}").FirstOrDefault() ?? $"dns-version.{settings.ClusterDomain} TXT";
        text.AppendLine(dns is null ? (settings.Dns is null ? "  dns: off" : "  dns: not running (see above)") : $"  dns: {dns} (UDP and TCP) for {settings.ClusterDomain}; try: {SidecarDns.DigCommand(dns, example)}");
        text.AppendLine(source);
        text.AppendLine("Press Ctrl+C to stop.");
        return text.ToString();
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1, Level = LogLevel.Error, Message = "{Diagnostic}")]
        public static partial void ManifestError(ILogger logger, string diagnostic);

        [LoggerMessage(EventId = 2, Level = LogLevel.Warning, Message = "{Diagnostic}")]
        public static partial void ManifestWarning(ILogger logger, string diagnostic);

        [LoggerMessage(EventId = 3, Level = LogLevel.Error, Message = "reload failed: {Errors} error(s) (above); still serving version {Version}")]
        public static partial void ReloadFailed(ILogger logger, int errors, long version);

        [LoggerMessage(EventId = 4, Level = LogLevel.Information, Message = "reloaded: version {Version}, services changed: {Changed}")]
        public static partial void Reloaded(ILogger logger, long version, string changed);

        [LoggerMessage(EventId = 5, Level = LogLevel.Information, Message = "reloaded: no change (version {Version})")]
        public static partial void ReloadedNoChange(ILogger logger, long version);

        [LoggerMessage(EventId = 6, Level = LogLevel.Information, Message = "stopping: closing the listeners; {Active} open connection(s) may finish for up to {Seconds} s")]
        public static partial void Stopping(ILogger logger, double seconds, int active);

        [LoggerMessage(EventId = 7, Level = LogLevel.Information, Message = "stopped")]
        public static partial void Stopped(ILogger logger);
    }
}

using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;

namespace FastProxy.Sidecar.Admin;

/// <summary>
/// The sidecar's metrics pipeline: a meter factory for the proxy and the sidecar's own meter, and an
/// OpenTelemetry meter provider that collects exactly those meters for the Prometheus exporter behind
/// <c>/metrics</c>. Create it first, build the proxy with <see cref="SidecarTelemetryExtensions.UseSidecarTelemetry"/>,
/// then hand it to <see cref="AdminServer"/>; dispose it last.
/// </summary>
internal sealed class SidecarTelemetry : IDisposable
{
    private readonly ServiceProvider _services;

    public SidecarTelemetry()
    {
        // A meter factory of our own (not the process-wide meters) gives every meter it creates this
        // factory as its scope, so the provider below reads this sidecar's proxy and nobody else's: a
        // process that hosts several proxies (the tests do) gets one exposition per sidecar, not a mix.
        _services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        MeterFactory = _services.GetRequiredService<IMeterFactory>();
        var factory = MeterFactory;
        MeterProvider = Sdk.CreateMeterProviderBuilder()
            // Names the process on target_info (service_name="fastproxy") instead of "unknown_service:dotnet".
            .ConfigureResource(resource => resource.AddService("fastproxy", serviceVersion: typeof(SidecarTelemetry).Assembly.GetName().Version?.ToString(3)))
            .AddMeter(ProxyServer.MeterName, SidecarMetrics.MeterName)
            .AddView(instrument => ReferenceEquals(instrument.Meter.Scope, factory) ? null : MetricStreamConfiguration.Drop)
            // No response cache: a scrape right after traffic shows that traffic (the exporter's default reuses a response for 300 ms).
            .AddPrometheusExporter(options => options.ScrapeResponseCacheDurationMilliseconds = 0)
            .Build();

        // Created after the provider, so its counters are listened to from their first (zero) value.
        Metrics = new SidecarMetrics(MeterFactory);
    }

    /// <summary>The factory the proxy must create its meter from (<see cref="ProxyServerBuilder.UseMeterFactory"/>).</summary>
    public IMeterFactory MeterFactory { get; }

    /// <summary>The sidecar's own counters (reloads).</summary>
    public SidecarMetrics Metrics { get; }

    /// <summary>The provider the Prometheus scraping endpoint reads.</summary>
    public MeterProvider MeterProvider { get; }

    public void Dispose()
    {
        MeterProvider.Dispose();
        _services.Dispose();
    }
}

/// <summary>Wiring of <see cref="SidecarTelemetry"/> into the proxy a command builds.</summary>
internal static class SidecarTelemetryExtensions
{
    /// <summary>
    /// Creates the proxy's meter from the sidecar's factory: without this, the proxy's instruments are
    /// not on <c>/metrics</c> (the admin server only reads meters of its own telemetry).
    /// </summary>
    public static ProxyServerBuilder UseSidecarTelemetry(this ProxyServerBuilder builder, SidecarTelemetry telemetry)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(telemetry);
        return builder.UseMeterFactory(telemetry.MeterFactory);
    }
}

using System.Net;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using FastProxy.Catalog;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace FastProxy.Sidecar.Admin;

/// <summary>
/// The sidecar's admin HTTP server: <c>/healthz</c>, <c>/metrics</c> (Prometheus text),
/// <c>/api/services</c> and <c>/api/endpoints</c> (JSON) and <c>/</c> (the live dashboard), on one
/// address only (loopback by default). Start it after the proxy and stop it before, so <c>/healthz</c>
/// says "ok" exactly while the proxy serves.
/// </summary>
internal sealed partial class AdminServer : IAsyncDisposable
{
    private const string HealthPath = "/healthz";
    private readonly ServiceCatalog _catalog;
    private readonly SidecarTelemetry _telemetry;
    private readonly AdminServerOptions _options;
    private readonly ILoggerFactory _loggerFactory;
    private readonly ILogger _logger;
    private readonly BearerTokenCheck? _token;
    private WebApplication? _app;
    private int _state; // 0 created, 1 started, 2 stopping or stopped

    /// <summary>Prepares the server; nothing listens until <see cref="StartAsync"/>.</summary>
    /// <param name="catalog">The catalog whose current version the API and dashboard show.</param>
    /// <param name="proxy">The proxy being served (it must follow <paramref name="catalog"/>).</param>
    /// <param name="telemetry">The metrics pipeline the proxy was built with (<see cref="SidecarTelemetryExtensions.UseSidecarTelemetry"/>).</param>
    /// <param name="options">Address and token.</param>
    /// <param name="loggerFactory">The sidecar's logger factory; Kestrel and ASP.NET Core log through it.</param>
    public AdminServer(ServiceCatalog catalog, ProxyServer proxy, SidecarTelemetry telemetry, AdminServerOptions options, ILoggerFactory loggerFactory)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(proxy);
        ArgumentNullException.ThrowIfNull(telemetry);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(loggerFactory);
        if (!ReferenceEquals(proxy.Catalog, catalog))
        {
            throw new ArgumentException("The proxy follows another catalog than the one the admin server would show.", nameof(proxy));
        }

        _catalog = catalog;
        _telemetry = telemetry;
        _options = options;
        _loggerFactory = loggerFactory;
        _logger = loggerFactory.CreateLogger<AdminServer>();
        _token = string.IsNullOrEmpty(options.BearerToken) ? null : new BearerTokenCheck(options.BearerToken);
    }

    /// <summary>The address actually bound (with the real port when 0 was asked for); null before start.</summary>
    public IPEndPoint? EndPoint { get; private set; }

    /// <summary>The dashboard's URL, e.g. <c>http://127.0.0.1:9901/</c>; null before start.</summary>
    public Uri? DashboardUri => EndPoint is { } endPoint ? new Uri($"http://{endPoint}/") : null;

    /// <summary>Binds the address and starts serving.</summary>
    /// <exception cref="IOException">The address is in use or cannot be bound.</exception>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        if (Interlocked.CompareExchange(ref _state, 1, 0) != 0)
        {
            throw new InvalidOperationException("The admin server was already started.");
        }

        var app = Build();
        try
        {
            await app.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await app.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        _app = app;
        EndPoint = BoundEndPoint(app) ?? _options.EndPoint;
        Log.Listening(_logger, DashboardUri!, _token is not null);
    }

    /// <summary>Stops gracefully: <c>/healthz</c> turns to 503, in-flight requests get <see cref="AdminServerOptions.ShutdownTimeout"/>.</summary>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        if (Interlocked.Exchange(ref _state, 2) == 2 || _app is not { } app)
        {
            return;
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.ShutdownTimeout);
        await app.StopAsync(timeout.Token).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync(CancellationToken.None).ConfigureAwait(false);
        if (Interlocked.Exchange(ref _app, null) is { } app)
        {
            await app.DisposeAsync().ConfigureAwait(false);
        }
    }

    private WebApplication Build()
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            // Not the sidecar's arguments: they are the sidecar's CLI, not ASP.NET Core configuration.
            // No reload-on-change: nothing here is configured by files, and each watcher costs an inotify instance.
            Args = ["--hostBuilder:reloadConfigOnChange=false"],
            ApplicationName = typeof(AdminServer).Assembly.GetName().Name,
            ContentRootPath = AppContext.BaseDirectory,
        });

        // The sidecar's own logger factory (its console format and levels), without the framework's
        // per-request lines; registered as an instance, so the container does not dispose it.
        builder.Logging.ClearProviders();
        builder.Services.Replace(ServiceDescriptor.Singleton<ILoggerFactory>(new FrameworkLogFilter(_loggerFactory)));

        // The command owns Ctrl+C and SIGTERM and stops this server in its order (before the proxy);
        // the default console lifetime would stop it on its own at the first signal.
        builder.Services.Replace(ServiceDescriptor.Singleton<IHostLifetime, CommandOwnedLifetime>());
        builder.Services.Configure<HostOptions>(host => host.ShutdownTimeout = _options.ShutdownTimeout);

        // Exactly one address: explicit Listen overrides ASPNETCORE_URLS and friends.
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Listen(_options.EndPoint);
            kestrel.AddServerHeader = false;
        });

        var app = builder.Build();
        if (_token is not null)
        {
            app.Use(RequireToken);
        }

        app.MapMethods(HealthPath, [HttpMethods.Get, HttpMethods.Head], Health);
        app.MapPrometheusScrapingEndpoint("/metrics", _telemetry.MeterProvider, configureBranchedPipeline: null, optionsName: null);
        app.MapGet("/api/services", context => WriteJsonAsync(context, AdminSnapshots.Services(_catalog.Current), AdminJsonContext.Default.ServicesResponse));
        app.MapGet("/api/endpoints", context => WriteJsonAsync(context, AdminSnapshots.Endpoints(_catalog.Current), AdminJsonContext.Default.EndpointsResponse));
        if (_options.WriteSources is { } writeSources)
        {
            // The catalog source's own status (etcd: connected, revision, last error); only when one is configured.
            app.MapGet("/api/sources", context => WriteSourcesAsync(context, writeSources));
        }
        app.MapGet("/", Dashboard);
        return app;
    }

    private Task RequireToken(HttpContext context, RequestDelegate next)
    {
        // Liveness probes (kubelet, systemd, load balancers) carry no credentials, and "ok" reveals nothing.
        if (context.Request.Path.Equals(HealthPath, StringComparison.Ordinal) || _token!.IsAuthorized(context.Request.Headers.Authorization))
        {
            return next(context);
        }

        context.Response.StatusCode = StatusCodes.Status401Unauthorized;
        context.Response.Headers.WWWAuthenticate = "Bearer realm=\"fastproxy-admin\"";
        return Task.CompletedTask;
    }

    private Task Health(HttpContext context)
    {
        var running = Volatile.Read(ref _state) == 1;
        context.Response.StatusCode = running ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable;
        context.Response.ContentType = "text/plain; charset=utf-8";
        context.Response.Headers.CacheControl = "no-store";
        return HttpMethods.IsHead(context.Request.Method)
            ? Task.CompletedTask
            : context.Response.WriteAsync(running ? "ok\n" : "stopping\n", context.RequestAborted);
    }

    private static async Task WriteJsonAsync<T>(HttpContext context, T value, JsonTypeInfo<T> type)
    {
        context.Response.ContentType = "application/json; charset=utf-8";
        context.Response.Headers.CacheControl = "no-store";
        await JsonSerializer.SerializeAsync(context.Response.Body, value, type, context.RequestAborted).ConfigureAwait(false);
    }

    private static async Task WriteSourcesAsync(HttpContext context, Action<Utf8JsonWriter> write)
    {
        context.Response.ContentType = "application/json; charset=utf-8";
        context.Response.Headers.CacheControl = "no-store";
        await using var writer = new Utf8JsonWriter(context.Response.Body);
        write(writer);
        await writer.FlushAsync(context.RequestAborted).ConfigureAwait(false);
    }

    private static Task Dashboard(HttpContext context)
    {
        var headers = context.Response.Headers;
        context.Response.ContentType = "text/html; charset=utf-8";
        headers.CacheControl = "no-store";
        headers.ContentSecurityPolicy = DashboardPage.ContentSecurityPolicy;
        headers.XContentTypeOptions = "nosniff";
        headers["Referrer-Policy"] = "no-referrer";
        var html = DashboardPage.Html;
        context.Response.ContentLength = html.Length;
        return context.Response.Body.WriteAsync(html, context.RequestAborted).AsTask();
    }

    private static IPEndPoint? BoundEndPoint(WebApplication app)
    {
        var addresses = app.Services.GetRequiredService<Microsoft.AspNetCore.Hosting.Server.IServer>().Features.Get<IServerAddressesFeature>()?.Addresses;
        var address = addresses?.FirstOrDefault();
        return address is not null && Uri.TryCreate(address, UriKind.Absolute, out var uri) && IPAddress.TryParse(uri.Host.Trim('[', ']'), out var ip)
            ? new IPEndPoint(ip, uri.Port)
            : null;
    }

    /// <summary>A host lifetime that leaves signals to the command: start and stop happen when the command says.</summary>
    private sealed class CommandOwnedLifetime : IHostLifetime
    {
        public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }

    private static partial class Log
    {
        [LoggerMessage(9101, LogLevel.Information, "Admin server listening on {Url} (dashboard, /metrics, /api/services, /api/endpoints, /healthz); bearer token required: {TokenRequired}.", EventName = "AdminListening")]
        public static partial void Listening(ILogger logger, Uri url, bool tokenRequired);
    }
}

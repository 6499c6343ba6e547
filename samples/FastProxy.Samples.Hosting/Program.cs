// FastProxy in a generic host: AddFastProxy binds the "FastProxy" section of appsettings.json (settings,
// and the services and pods declared there), starts the proxy with the host and stops it gracefully on
// Ctrl+C or SIGTERM. The demo pods themselves (greeting servers on the declared pod addresses) run as a
// second hosted service. Try `cat < /dev/tcp/127.96.0.30/9002` (bash) while it runs.
using FastProxy;
using FastProxy.Samples;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings
{
    Args = args,
    ContentRootPath = AppContext.BaseDirectory, // appsettings.json is next to the program, wherever it is started from
});
builder.Services.AddHostedService<DemoBackends>(); // registered first, so the pods are up before the proxy listens
builder.Services.AddFastProxy();

using var host = builder.Build();
host.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStarted.Register(() =>
{
    var proxy = host.Services.GetRequiredService<ProxyServer>();
    Console.WriteLine($"Proxy listening on {string.Join(", ", proxy.ListeningEndPoints)}. Press Ctrl+C to stop.");
});

await host.RunAsync();
Console.WriteLine("Stopped.");

using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace FastProxy.Sidecar.Demo;

/// <summary>Small HTTP backends that answer every request with their own pod name, so balancing is visible with curl.</summary>
internal sealed class DemoPods : IAsyncDisposable
{
    private readonly List<WebApplication> _apps = [];

    public static async Task<DemoPods> StartAsync(IReadOnlyList<(string Name, IPEndPoint EndPoint)> pods, CancellationToken cancellationToken)
    {
        var started = new DemoPods();
        try
        {
            foreach (var (name, endPoint) in pods)
            {
                var builder = WebApplication.CreateSlimBuilder();
                builder.Logging.ClearProviders();
                builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(endPoint));
                var app = builder.Build();
                var reply = $"Hello from {name} ({endPoint})\n";
                app.Run(context => context.Response.WriteAsync(reply, context.RequestAborted));
                await app.StartAsync(cancellationToken).ConfigureAwait(false);
                started._apps.Add(app);
            }

            return started;
        }
        catch
        {
            await started.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var app in _apps)
        {
            await app.StopAsync(CancellationToken.None).ConfigureAwait(false);
            await app.DisposeAsync().ConfigureAwait(false);
        }

        _apps.Clear();
    }
}

using FastProxy.Model;

namespace FastProxy.Connections.Tests;

/// <summary>The idle timeout resets a connection silent both ways and spares one with traffic; the clock is fake.</summary>
public sealed class IdleTimeoutTests
{
    [Fact]
    public async Task SilentConnectionReset_ActiveOneKept()
    {
        await using var env = await PolicyTestEnvironment.StartAsync(new ConnectionPolicy { IdleTimeout = TimeSpan.FromSeconds(10) });
        var (active, _) = await env.ConnectAsync();
        var (silent, _) = await env.ConnectAsync();
        await using var a = active;
        await using var s = silent;

        // Nine seconds of silence: not yet.
        for (var second = 0; second < 9; second++)
        {
            await ConnectionAssert.EchoesAsync(active);
            env.Time.Advance(TimeSpan.FromSeconds(1));
        }

        await ConnectionAssert.EchoesAsync(silent, "awake");

        // Now silent for a full timeout (and one scan interval, the scan's resolution).
        for (var second = 0; second < 12; second++)
        {
            await ConnectionAssert.EchoesAsync(active);
            env.Time.Advance(TimeSpan.FromSeconds(1));
        }

        await ConnectionAssert.IsResetAsync(silent);
        await ConnectionAssert.EchoesAsync(active);
        Assert.Equal(1, env.Counter("fastproxy.connections.terminated", "reason=idle_timeout"));
    }

    [Fact]
    public async Task ServerDefault_AppliesWhenThePolicyHasNone_ZeroDisables()
    {
        await using var env = await PolicyTestEnvironment.StartAsync(ConnectionPolicy.Default, configure: b => b.Configure(o => o.IdleTimeout = TimeSpan.FromSeconds(5)));
        var (client, _) = await env.ConnectAsync();
        await using var c = client;
        for (var second = 0; second < 7; second++)
        {
            env.Time.Advance(TimeSpan.FromSeconds(1));
        }

        await ConnectionAssert.IsResetAsync(client);

        await env.UpdateServiceAsync(s => s with { ConnectionPolicy = new ConnectionPolicy { IdleTimeout = TimeSpan.Zero } });
        var (never, _) = await env.ConnectAsync();
        await using var n = never;
        for (var second = 0; second < 30; second++)
        {
            env.Time.Advance(TimeSpan.FromSeconds(1));
        }

        await ConnectionAssert.EchoesAsync(never);
    }
}

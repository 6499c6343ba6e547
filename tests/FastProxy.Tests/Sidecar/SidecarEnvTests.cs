using FastProxy.Manifests.Tests;

namespace FastProxy.Sidecar.Tests;

/// <summary>
/// <c>fastproxy env -f PATH -- COMMAND</c>: the real executable starts a real child (<c>sh</c>) with the
/// kubelet's variables. Nothing binds: the manifests only compute variables.
/// </summary>
public sealed class SidecarEnvTests
{
    private const string Manifest = """
        apiVersion: v1
        kind: Service
        metadata:
          name: web
        spec:
          clusterIP: 127.96.6.10
          ports:
            - name: http
              port: 8080
        """;

    [Fact]
    public async Task EnvWithACommand_TheChildSeesTheVariables_AndItsExitCodeIsOurs()
    {
        using var folder = new TempFolder();
        folder.Write("web.yaml", Manifest);

        var (exit, output) = await SidecarProcess.RunToEndAsync(
            "env", "-f", folder.Path, "--", "sh", "-c", "echo host=$WEB_SERVICE_HOST port=$WEB_SERVICE_PORT_HTTP link=$WEB_PORT path-kept=${PATH:+yes}; exit 7");

        Assert.True(exit == 7, $"exit {exit}:\n{output}");
        Assert.Contains("host=127.96.6.10 port=8080 link=tcp://127.96.6.10:8080 path-kept=yes", output.Split('\n'));
    }

    [Fact]
    public async Task EnvWithACommand_SigtermReachesTheChild_AndWeExitWhenItDoes()
    {
        using var folder = new TempFolder();
        folder.Write("web.yaml", Manifest);

        // The child traps SIGTERM and exits 3; without the signal it would give up by itself after 30 s.
        await using var sidecar = SidecarProcess.Start(
            "env", "-f", folder.Path, "--", "sh", "-c", "trap 'echo child-got-term; exit 3' TERM; echo child-ready; i=0; while [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done; exit 9");
        await sidecar.WaitForLineAsync("child-ready", TimeSpan.FromSeconds(60));

        await sidecar.SignalAsync("TERM");

        Assert.Equal(3, await sidecar.WaitForExitAsync(TimeSpan.FromSeconds(20)));
        Assert.Contains("child-got-term", sidecar.Lines);
    }

    [Fact]
    public async Task EnvWithACommandThatDoesNotExist_Exits127NamingIt()
    {
        using var folder = new TempFolder();
        folder.Write("web.yaml", Manifest);

        var (exit, output) = await SidecarProcess.RunToEndAsync("env", "-f", folder.Path, "--", "no-such-command-fastproxy");

        Assert.True(exit == 127, $"exit {exit}:\n{output}");
        Assert.Contains("cannot run \"no-such-command-fastproxy\"", output, StringComparison.Ordinal);
    }
}

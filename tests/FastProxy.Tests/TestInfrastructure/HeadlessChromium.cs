namespace FastProxy.Tests;

/// <summary>
/// Loads a page in Debian's headless Chromium and returns the DOM after its scripts ran: with
/// <c>--virtual-time-budget</c> the page's timers (here: a poll every second) run in virtual time while
/// its fetches to the real server complete, so a few seconds of page life take well under a second.
/// </summary>
internal static class HeadlessChromium
{
    private static readonly TimeSpan ProcessTimeout = TimeSpan.FromSeconds(90);

    public static async Task<string> DumpDomAsync(Uri url, TimeSpan virtualTime)
    {
        var chromium = ExternalTool.Require("chromium", "chromium");
        // A profile of its own per run: parallel runs would otherwise fight over the default profile's lock.
        var profile = Directory.CreateTempSubdirectory("fastproxy-chromium-");
        try
        {
            var result = await ExternalTool.RunAsync(
                chromium,
                [
                    "--headless=new",
                    "--no-sandbox", // tests run as root, where Chromium's sandbox refuses to start
                    "--disable-gpu",
                    "--disable-dev-shm-usage",
                    "--no-first-run",
                    "--no-default-browser-check",
                    $"--user-data-dir={profile.FullName}",
                    // Loopback only: the browser's own background traffic (updates, sync, safe browsing,
                    // metrics) is switched off, and anything it still tries goes to a closed port on
                    // loopback; 127.0.0.0/8 is implicitly exempt from the proxy, so the page itself loads directly.
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    "--disable-extensions",
                    "--disable-default-apps",
                    "--metrics-recording-only",
                    "--no-pings",
                    "--proxy-server=http://127.0.0.1:9",
                    $"--virtual-time-budget={(int)virtualTime.TotalMilliseconds}",
                    "--dump-dom",
                    url.ToString(),
                ],
                ProcessTimeout);
            Assert.True(result.ExitCode == 0 && result.StandardOutput.Contains("</html>", StringComparison.Ordinal),
                $"chromium exited with {result.ExitCode}; stderr:\n{result.StandardError}");
            return result.StandardOutput;
        }
        finally
        {
            try
            {
                profile.Delete(recursive: true);
            }
            catch (IOException)
            {
                // A crash handler may still hold a file for a moment; the temp folder is cleaned by the OS.
            }
        }
    }
}

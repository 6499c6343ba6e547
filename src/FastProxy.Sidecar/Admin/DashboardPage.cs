using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;

namespace FastProxy.Sidecar.Admin;

/// <summary>
/// The dashboard: one self-contained HTML file embedded in the executable, and a Content-Security-Policy
/// that allows exactly its own inline script and style (by hash) and requests to this server only, so
/// the page can load nothing from anywhere else even if a service name tried to inject markup.
/// </summary>
internal static partial class DashboardPage
{
    private const string ResourceName = "FastProxy.Sidecar.Admin.dashboard.html";

    private static readonly Lazy<(byte[] Html, string Policy)> Page = new(Load);

    /// <summary>The page's UTF-8 bytes.</summary>
    public static byte[] Html => Page.Value.Html;

    /// <summary>The Content-Security-Policy header value for the page.</summary>
    public static string ContentSecurityPolicy => Page.Value.Policy;

    private static (byte[] Html, string Policy) Load()
    {
        using var stream = typeof(DashboardPage).Assembly.GetManifestResourceStream(ResourceName)
            ?? throw new InvalidOperationException($"The dashboard resource {ResourceName} is missing from the build.");
        using var reader = new StreamReader(stream, Encoding.UTF8);
        var html = reader.ReadToEnd();
        var scripts = string.Join(' ', Blocks(ScriptBlock(), html));
        var styles = string.Join(' ', Blocks(StyleBlock(), html));
        var policy = $"default-src 'none'; script-src {scripts}; style-src {styles}; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
        return (Encoding.UTF8.GetBytes(html), policy);
    }

    // CSP hashes the exact text between the tags, as the browser sees it.
    private static IEnumerable<string> Blocks(Regex block, string html)
        => block.Matches(html).Select(static m => $"'sha256-{Convert.ToBase64String(SHA256.HashData(Encoding.UTF8.GetBytes(m.Groups[1].Value)))}'");

    [GeneratedRegex("<script>(.*?)</script>", RegexOptions.Singleline)]
    private static partial Regex ScriptBlock();

    [GeneratedRegex("<style>(.*?)</style>", RegexOptions.Singleline)]
    private static partial Regex StyleBlock();
}

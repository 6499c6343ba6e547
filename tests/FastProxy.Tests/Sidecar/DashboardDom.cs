using System.Net;
using System.Text.RegularExpressions;

namespace FastProxy.Sidecar.Tests;

/// <summary>
/// Reads the dashboard's rendered DOM (Chromium's <c>--dump-dom</c>) through the stable hooks the page
/// promises: rows with <c>data-service</c>/<c>data-port</c>/<c>data-endpoint</c>, cells with
/// <c>data-field</c> and the raw number in <c>data-value</c>, badges with <c>data-condition</c>.
/// </summary>
internal sealed partial class DashboardDom(string html)
{
    public string Html { get; } = html;

    public string? Status => Attributes(Element("p", "status"))?.GetValueOrDefault("data-state");

    public long? CatalogVersion => Attributes(Element("dd", "catalog-version"))?.GetValueOrDefault("data-value") is { } v ? long.Parse(v, System.Globalization.CultureInfo.InvariantCulture) : null;

    /// <summary>The services table's row of <paramref name="service"/> (<c>namespace/name</c>), or null.</summary>
    public Row? Service(string service)
        => Rows().FirstOrDefault(r => r.Attributes.GetValueOrDefault("data-service") == service && !r.Attributes.ContainsKey("data-port") && r.Cells.ContainsKey("type"));

    /// <summary>The endpoints table's row of <paramref name="endpoint"/> in <paramref name="service"/>, or null.</summary>
    public Row? Endpoint(string service, string endpoint)
        => Rows().FirstOrDefault(r => r.Attributes.GetValueOrDefault("data-service") == service && r.Attributes.GetValueOrDefault("data-endpoint") == endpoint);

    public IEnumerable<Row> Rows()
    {
        foreach (Match row in RowPattern().Matches(Html))
        {
            var cells = new Dictionary<string, Cell>(StringComparer.Ordinal);
            foreach (Match cell in CellPattern().Matches(row.Groups["body"].Value))
            {
                var attributes = ParseAttributes(cell.Groups["attributes"].Value);
                if (attributes.TryGetValue("data-field", out var field))
                {
                    cells[field] = new Cell(attributes.GetValueOrDefault("data-value"), Text(cell.Groups["body"].Value), cell.Groups["body"].Value);
                }
            }

            yield return new Row(ParseAttributes(row.Groups["attributes"].Value), cells, row.Value);
        }
    }

    public sealed record Row(IReadOnlyDictionary<string, string> Attributes, IReadOnlyDictionary<string, Cell> Cells, string Html)
    {
        public long Number(string field) => long.Parse(Cells[field].Value ?? throw new InvalidOperationException($"{field} has no data-value"), System.Globalization.CultureInfo.InvariantCulture);

        public double Rate(string field) => Cells[field].Value is { } value ? double.Parse(value, System.Globalization.CultureInfo.InvariantCulture) : double.NaN;

        /// <summary>The condition badges: ready, serving, terminating, each true or false.</summary>
        public IReadOnlyDictionary<string, bool> Conditions
            => ConditionPattern().Matches(Cells["conditions"].InnerHtml).ToDictionary(m => m.Groups["name"].Value, m => m.Groups["value"].Value == "true");

        public IReadOnlyList<string> Routes
            => [.. RoutePattern().Matches(Cells["routes"].InnerHtml).Select(m => m.Groups["route"].Value)];
    }

    public sealed record Cell(string? Value, string Text, string InnerHtml);

    private string? Element(string tag, string id)
        => Regex.Match(Html, $"<{tag}\\b[^>]*\\bid=\"{Regex.Escape(id)}\"[^>]*>", RegexOptions.None, TimeSpan.FromSeconds(5)) is { Success: true } m ? m.Value : null;

    private static Dictionary<string, string>? Attributes(string? tag) => tag is null ? null : ParseAttributes(tag);

    private static Dictionary<string, string> ParseAttributes(string text)
        => AttributePattern().Matches(text).ToDictionary(m => m.Groups["name"].Value, m => WebUtility.HtmlDecode(m.Groups["value"].Value), StringComparer.Ordinal);

    private static string Text(string html) => WebUtility.HtmlDecode(TagPattern().Replace(html, string.Empty)).Trim();

    [GeneratedRegex("<tr\\b(?<attributes>[^>]*)>(?<body>.*?)</tr>", RegexOptions.Singleline)]
    private static partial Regex RowPattern();

    [GeneratedRegex("<t[dh]\\b(?<attributes>[^>]*)>(?<body>.*?)</t[dh]>", RegexOptions.Singleline)]
    private static partial Regex CellPattern();

    [GeneratedRegex("(?<name>[a-z-]+)=\"(?<value>[^\"]*)\"")]
    private static partial Regex AttributePattern();

    [GeneratedRegex("data-condition=\"(?<name>[a-z]+)\" data-value=\"(?<value>true|false)\"")]
    private static partial Regex ConditionPattern();

    [GeneratedRegex("data-route=\"(?<route>[a-z]+)\"")]
    private static partial Regex RoutePattern();

    [GeneratedRegex("<[^>]+>")]
    private static partial Regex TagPattern();
}

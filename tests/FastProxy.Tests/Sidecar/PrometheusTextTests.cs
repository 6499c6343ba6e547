using FastProxy.Tests;

namespace FastProxy.Sidecar.Tests;

/// <summary>The checkers the /metrics test relies on must reject what Prometheus would reject.</summary>
public sealed class PrometheusTextTests
{
    private const string Valid = """
        # HELP requests_total Requests.
        # TYPE requests_total counter
        requests_total{path="/a",code="200"} 3
        requests_total{path="/b\"q\\",code="500"} 1.5e3
        # HELP latency_seconds Latency.
        # TYPE latency_seconds histogram
        latency_seconds_bucket{le="0.1"} 1
        latency_seconds_bucket{le="1"} 4
        latency_seconds_bucket{le="+Inf"} 5
        latency_seconds_sum 2.25
        latency_seconds_count 5

        """;

    [Fact]
    public void Parse_ReadsFamiliesLabelsAndValues()
    {
        var text = PrometheusText.Parse(Valid.ReplaceLineEndings("\n"));

        Assert.Equal("counter", text.Families["requests_total"].Type);
        Assert.Equal("Requests.", text.Families["requests_total"].Help);
        Assert.Equal(1500, text.Value("requests_total", ("path", "/b\"q\\")));
        Assert.Equal(5, text.Value("latency_seconds_count"));
        Assert.Equal(4, text.Value("latency_seconds_bucket", ("le", "1")));
    }

    [Theory]
    [InlineData("a 1\nb 2\na{x=\"1\"} 3\n")] // a family split by another
    [InlineData("a 1\na 2\n")] // the same series twice
    [InlineData("a 1\n# TYPE a counter\n")] // TYPE after samples
    [InlineData("# TYPE a counter\na -1\n")] // negative counter
    [InlineData("# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"2\"} 1\nh_bucket{le=\"+Inf\"} 2\nh_sum 1\nh_count 2\n")] // not cumulative
    [InlineData("# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_sum 1\nh_count 2\n")] // no +Inf bucket
    [InlineData("# TYPE h histogram\nh_bucket{le=\"+Inf\"} 3\nh_sum 1\nh_count 2\n")] // +Inf differs from _count
    [InlineData("a{x=\"\\t\"} 1\n")] // bad escape
    [InlineData("a{x=\"1\" 1\n")] // unclosed labels
    [InlineData("a  1\n")] // two spaces
    [InlineData("1a 1\n")] // bad name
    [InlineData("a one\n")] // not a number
    [InlineData("a 1")] // no final line feed
    public void Parse_RejectsInvalidExposition(string text)
        => Assert.Throws<FormatException>(() => PrometheusText.Parse(text));

    [Fact]
    public async Task Promtool_AcceptsValidText_AndRejectsBrokenOrUnlintedText()
    {
        await Promtool.CheckMetricsAsync(Valid.ReplaceLineEndings("\n"));
        await Assert.ThrowsAnyAsync<Xunit.Sdk.XunitException>(() => Promtool.CheckMetricsAsync("# TYPE a counter\na{x=\"1\" 1\n"));
        // promtool also lints: a family without HELP fails (exit 3), so /metrics passing it means lint-clean.
        await Assert.ThrowsAnyAsync<Xunit.Sdk.XunitException>(() => Promtool.CheckMetricsAsync("# TYPE a_total counter\na_total 1\n"));
    }
}

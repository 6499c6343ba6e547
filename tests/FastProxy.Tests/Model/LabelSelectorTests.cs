using FastProxy.Model;

namespace FastProxy.Model.Tests;

public sealed class LabelSelectorTests
{
    private static Dictionary<string, string> Labels(params string[] pairs)
        => pairs.Select(p => p.Split('=')).ToDictionary(p => p[0], p => p[1]);

    [Fact]
    public void Matches_AllPairsPresent_True()
    {
        var selector = new LabelSelector(Labels("app=web", "tier=front"));
        Assert.True(selector.Matches(Labels("app=web", "tier=front")));
    }

    [Fact]
    public void Matches_ExtraPodLabels_StillTrue()
    {
        var selector = new LabelSelector(Labels("app=web"));
        Assert.True(selector.Matches(Labels("app=web", "version=v2", "zone=a")));
    }

    [Theory]
    [InlineData("app=api")]
    [InlineData("tier=front")]
    [InlineData("App=web")]
    public void Matches_MissingKeyOrDifferentValue_False(string podLabel)
    {
        var selector = new LabelSelector(Labels("app=web"));
        Assert.False(selector.Matches(Labels(podLabel)));
    }

    [Fact]
    public void Matches_ValueComparisonIsCaseSensitive()
    {
        var selector = new LabelSelector(Labels("app=web"));
        Assert.False(selector.Matches(Labels("app=Web")));
    }

    [Fact]
    public void Matches_EmptySelector_SelectsNothing()
    {
        // Kubernetes: a Service with an empty selector has no selector; its endpoints come from elsewhere.
        var selector = new LabelSelector([]);
        Assert.True(selector.IsEmpty);
        Assert.False(selector.Matches(Labels("app=web")));
        Assert.False(selector.Matches(new Dictionary<string, string>()));
    }

    [Fact]
    public void ToString_SortedKubernetesForm()
    {
        Assert.Equal("app=web,tier=front", new LabelSelector(Labels("tier=front", "app=web")).ToString());
    }
}

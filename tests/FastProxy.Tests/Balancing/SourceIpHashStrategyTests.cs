using System.Net;
using FastProxy.Model;
using Xunit.Abstractions;

namespace FastProxy.Balancing.Tests;

public sealed class SourceIpHashStrategyTests(ITestOutputHelper output)
{
    [Fact]
    public void Pick_SameAddressOtherPorts_SameEndpoint()
    {
        var picker = new SourceIpHashStrategy().CreatePicker(TestEndpoints.Create(7));
        var endpoints = new HashSet<EndpointState>();
        for (var client = 0; client < 500; client++)
        {
            var address = new IPAddress([192, 168, (byte)(client >> 8), (byte)client]);
            var first = picker.Pick(PickContext.ForClient(new IPEndPoint(address, 1024)))!;
            endpoints.Add(first);
            for (var port = 1025; port < 1035; port++)
            {
                Assert.Same(first, picker.Pick(PickContext.ForClient(new IPEndPoint(address, port))));
            }

            // An IPv4-mapped IPv6 client is the same client.
            Assert.Same(first, picker.Pick(PickContext.ForClient(new IPEndPoint(address.MapToIPv6(), 5000))));
        }

        Assert.Equal(7, endpoints.Count);
    }

    [Fact]
    public void Pick_ManyClients_EvenSpread()
    {
        // 100,000 clients over 10 endpoints: a binomial count's standard deviation is √(10⁵ × 0.1 × 0.9) ≈ 95,
        // about 1% of the mean; 5% is five standard deviations and still catches a biased mapping.
        var endpoints = TestEndpoints.Create(10);
        var counts = HashingMeasures.Counts(new SourceIpHashStrategy().CreatePicker(endpoints), endpoints, HashingMeasures.Flows(100_000));
        var deviation = HashingMeasures.MaxDeviation(counts);
        output.WriteLine($"source-ip-hash N=10: counts [{string.Join(", ", counts)}], max deviation {deviation:P2}");
        Assert.True(deviation < 0.05, $"max deviation {deviation:P2}");
    }

    [Fact]
    public void Pick_Weights_SharesFollowWeights()
    {
        var endpoints = TestEndpoints.Create(5, 1, 1, 3);
        var counts = HashingMeasures.Counts(new SourceIpHashStrategy().CreatePicker(endpoints), endpoints, HashingMeasures.Flows(100_000));
        output.WriteLine($"weights 5:1:1:3 → [{string.Join(", ", counts)}]");
        Assert.InRange(counts[0], 48_000, 52_000);
        Assert.InRange(counts[1], 8_500, 11_500);
        Assert.InRange(counts[2], 8_500, 11_500);
        Assert.InRange(counts[3], 28_000, 32_000);
    }

    [Fact]
    public void Pick_Retry_TakesTheFollowingEndpoints()
    {
        var endpoints = TestEndpoints.Create(4);
        var picker = new SourceIpHashStrategy().CreatePicker(endpoints);
        for (var i = 0; i < 1_000; i++)
        {
            var first = endpoints.IndexOf(picker.Pick(TestEndpoints.Flow(i))!);
            Assert.Same(endpoints[(first + 1) % 4], picker.Pick(TestEndpoints.Flow(i, 1)));
            Assert.Same(endpoints[(first + 3) % 4], picker.Pick(TestEndpoints.Flow(i, 3)));
        }
    }

    [Theory]
    [InlineData(new[] { 1, 1 })]
    [InlineData(new[] { 1, 1, 1, 1, 1 })]
    [InlineData(new[] { 10000, 1 })]
    public void Pick_RetryAttempt_ReturnsAnotherEndpoint(int[] weights)
    {
        HashingMeasures.AssertRetryDiffers(new SourceIpHashStrategy().CreatePicker(TestEndpoints.Create(weights)));
    }

    [Fact]
    public void Pick_SeparatelyBuiltEqualSets_Agree()
    {
        HashingMeasures.AssertSameChoices(new SourceIpHashStrategy(), 1, 1, 1, 1, 1);
        HashingMeasures.AssertSameChoices(new SourceIpHashStrategy(), 3, 1, 2);
    }

    [Fact]
    public void Pick_AllocatesNothing()
    {
        Assert.Equal(0, PickerAllocations.Measure(new SourceIpHashStrategy().CreatePicker(TestEndpoints.Create(16))));
        Assert.Equal(0, PickerAllocations.Measure(new SourceIpHashStrategy().CreatePicker(TestEndpoints.Create(3, 1, 2))));
    }

    [Fact]
    public void CreatePicker_Empty_Throws()
    {
        Assert.Throws<ArgumentException>(() => new SourceIpHashStrategy().CreatePicker([]));
        Assert.Equal(BalancingStrategies.SourceIpHash, new SourceIpHashStrategy().Name);
    }
}

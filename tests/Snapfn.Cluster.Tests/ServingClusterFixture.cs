namespace Snapfn.Cluster.Tests;

/// <summary>One <see cref="TestCluster"/> for the tests that leave the workers alive (each deploys its own functions).</summary>
public sealed class ServingClusterFixture : IAsyncLifetime
{
    private TestCluster? _cluster;

    internal TestCluster Cluster => _cluster ?? throw new InvalidOperationException("not started");

    public async ValueTask InitializeAsync() => _cluster = await TestCluster.StartAsync();

    public async ValueTask DisposeAsync()
    {
        if (_cluster is not null)
            await _cluster.DisposeAsync();
    }
}

/// <summary>The serving tests run one after the other: each runs three daemons and a NATS cluster on two cores.</summary>
[CollectionDefinition(Name)]
public sealed class ServingTestGroup : ICollectionFixture<ServingClusterFixture>
{
    public const string Name = "cluster serving";
}

/// <summary>Waits for a condition the cluster reaches by itself (a watch applied, a redelivery made), with a bound;
/// the outcome does not depend on the timing, only how long the test takes.</summary>
internal static class Eventually
{
    public static async Task Async(Func<bool> condition, string what, double seconds = 20)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
                Assert.Fail($"not within {seconds} s: {what}");
            await Task.Delay(20, TestContext.Current.CancellationToken);
        }
    }
}

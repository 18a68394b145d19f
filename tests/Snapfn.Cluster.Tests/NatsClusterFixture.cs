using NATS.Client.Core;
using Snapfn.Cluster;

[assembly: AssemblyFixture(typeof(Snapfn.Cluster.Tests.NatsClusterFixture))]

namespace Snapfn.Cluster.Tests;

/// <summary>
/// One real three-node NATS cluster (JetStream on, loopback, free ports) shared by the tests of this assembly; tests
/// that kill a server start their own. Where Debian's nats-server is not installed the tests skip and say how to
/// install it (<c>scripts/test</c> runs <c>scripts/nats-deps</c> first, so on CI they run).
/// </summary>
public sealed class NatsClusterFixture : IAsyncLifetime
{
    private LocalNatsCluster? _cluster;
    private string _reason = "";

    public LocalNatsCluster Cluster
    {
        get
        {
            if (_cluster is null)
            {
                Assert.Skip(_reason);
            }
            return _cluster;
        }
    }

    /// <summary>A connection to node <paramref name="node"/>; the caller disposes it.</summary>
    public NatsConnection Connect(int node = 0) =>
        new(NatsOpts.Default with { Url = Cluster.ClientUrls[node], Name = $"snapfn-tests-{node}" });

    public async ValueTask InitializeAsync()
    {
        if (NatsServerBinary.Find(out var reason) is null)
        {
            _reason = reason;
            return;
        }
        _cluster = await LocalNatsCluster.StartAsync(3);
    }

    public async ValueTask DisposeAsync()
    {
        if (_cluster is not null)
        {
            await _cluster.DisposeAsync();
        }
    }
}

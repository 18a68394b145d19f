using Snapfn.Cluster;

namespace Snapfn.Daemon.Tests;

/// <summary>The replica metrics a worker exports (docs/cluster.md, "What the cluster bench reads") as the cluster bench
/// reads them: one fetch that two requests waited on is one fetch of its chunks, not two.</summary>
public sealed class ReplicaFetchMetricsTests
{
    [Fact]
    public async Task A_request_that_waited_on_another_requests_fetch_is_counted_as_joined_and_its_chunks_once()
    {
        var metrics = new DaemonMetrics();
        var fetch = new ReplicaFetch(AlreadyLocal: false, ChunksFetched: 12, BytesFetched: 11_561_497, Elapsed: TimeSpan.FromSeconds(6), TookOwnSnapshot: false, Note: null);
        metrics.ReplicaFetched("py-json", fetch);
        metrics.ReplicaFetched("py-json", fetch with { Joined = true });
        metrics.ReplicaFetched("py-json", new ReplicaFetch(AlreadyLocal: true, 0, 0, TimeSpan.Zero, TookOwnSnapshot: false, Note: null));

        using var text = new MemoryStream();
        await metrics.Registry.CollectAndExportAsTextAsync(text, TestContext.Current.CancellationToken);
        var page = System.Text.Encoding.UTF8.GetString(text.ToArray());

        var reading = Assert.Single(Bench.Cluster.ReplicaMetrics.Read("w3", page));
        Assert.Equal(new Bench.Cluster.ReplicaFetchReading("w3", "py-json", Fetches: 1, Chunks: 12, Bytes: 11_561_497, Seconds: 6, OwnSnapshots: 0), reading);
        Assert.Contains("snapfn_cluster_replica_fetches_total{function=\"py-json\",outcome=\"joined\"} 1", page, StringComparison.Ordinal);
    }
}

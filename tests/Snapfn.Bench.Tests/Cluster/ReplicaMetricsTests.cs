using Snapfn.Bench.Cluster;

namespace Snapfn.Bench.Tests.Cluster;

public sealed class ReplicaMetricsTests
{
    private const string Page = """
        # HELP snapfn_cluster_replica_fetches_total Functions this worker made local.
        # TYPE snapfn_cluster_replica_fetches_total counter
        snapfn_cluster_replica_fetches_total{function="py-json",outcome="fetched"} 1
        snapfn_cluster_replica_fetches_total{function="py-json",outcome="local"} 41
        snapfn_cluster_replica_fetches_total{function="py-hello-world",outcome="own_snapshot"} 1
        snapfn_cluster_replica_fetch_chunks_total{function="py-json"} 37
        snapfn_cluster_replica_fetch_bytes_total{function="py-json"} 1.5e+07
        snapfn_cluster_replica_fetch_seconds_sum{function="py-json"} 0.25
        snapfn_cluster_replica_fetch_seconds_count{function="py-json"} 1
        snapfn_cluster_replica_fetch_seconds_bucket{function="py-json",le="+Inf"} 1
        snapfn_invocations_total{function="py-json",mode="",outcome="ok"} 42
        a line that is not a sample
        """;

    [Fact]
    public void A_workers_metrics_page_gives_what_it_fetched_per_function()
    {
        var readings = ReplicaMetrics.Read("w2", Page);
        Assert.Equal(2, readings.Count);
        var json = Assert.Single(readings, r => r.Function == "py-json");
        Assert.Equal(new ReplicaFetchReading("w2", "py-json", Fetches: 1, Chunks: 37, Bytes: 15_000_000, Seconds: 0.25, OwnSnapshots: 0), json);
        var hello = Assert.Single(readings, r => r.Function == "py-hello-world");
        Assert.Equal(1, hello.OwnSnapshots);
        Assert.Equal(0, hello.Fetches);
    }

    [Fact]
    public void Labels_with_escaped_quotes_and_special_values_are_read()
    {
        var samples = PrometheusText.Parse("m{a=\"x\\\"y\",b=\"z\"} +Inf\nn 3 1700000000\n");
        Assert.Equal("x\"y", samples[0].Labels["a"]);
        Assert.Equal("z", samples[0].Labels["b"]);
        Assert.True(double.IsPositiveInfinity(samples[0].Value));
        Assert.Equal(3, samples[1].Value);
        Assert.Empty(samples[1].Labels);
    }

    [Fact]
    public void A_page_without_the_metrics_gives_no_readings()
    {
        Assert.Empty(ReplicaMetrics.Read("w1", "snapfn_invocations_total{function=\"f\"} 1\n"));
    }
}

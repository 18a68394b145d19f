namespace Snapfn.Bench.Cluster;

/// <summary>
/// The metrics a worker exposes about holding functions it did not deploy (their names are agreed in
/// docs/cluster.md, "What the bench reads"): each call that made it hold a function's current version, by outcome
/// (fetched from the object store, took its own snapshot, already local), the chunks and bytes it fetched, and a
/// histogram of the time it took.
/// </summary>
public static class ReplicaMetrics
{
    public const string Fetches = "snapfn_cluster_replica_fetches_total";
    public const string Chunks = "snapfn_cluster_replica_fetch_chunks_total";
    public const string Bytes = "snapfn_cluster_replica_fetch_bytes_total";
    public const string SecondsSum = "snapfn_cluster_replica_fetch_seconds_sum";
    public const string OutcomeFetched = "fetched";
    public const string OutcomeOwnSnapshot = "own_snapshot";

    /// <summary>One reading per function the page names, for <paramref name="worker"/>.</summary>
    public static IReadOnlyList<ReplicaFetchReading> Read(string worker, string metricsText)
    {
        var samples = PrometheusText.Parse(metricsText);
        double Sum(string name, string function, string? outcome = null) => samples
            .Where(s => s.Name == name && s.Labels.GetValueOrDefault("function") == function
                && (outcome is null || s.Labels.GetValueOrDefault("outcome") == outcome))
            .Sum(s => s.Value);
        var functions = samples.Where(s => s.Name is Fetches or Chunks or Bytes or SecondsSum)
            .Select(s => s.Labels.GetValueOrDefault("function")).OfType<string>().Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal);
        return [.. functions.Select(f => new ReplicaFetchReading(worker, f,
            (long)Sum(Fetches, f, OutcomeFetched), (long)Sum(Chunks, f), (long)Sum(Bytes, f), Sum(SecondsSum, f), (long)Sum(Fetches, f, OutcomeOwnSnapshot)))];
    }
}

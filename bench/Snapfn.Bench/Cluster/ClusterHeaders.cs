namespace Snapfn.Bench.Cluster;

/// <summary>The HTTP names the experiment reads from a worker's front door, as docs/cluster.md agrees them with the
/// serving side.</summary>
public static class ClusterHeaders
{
    /// <summary>The id of the worker that ran the invocation (its <c>--worker-id</c>).</summary>
    public const string Worker = "Snapfn-Worker";
    /// <summary>The invocation's id, assigned by the front door; a retry or a redelivery keeps it.</summary>
    public const string InvocationId = "Snapfn-Invocation-Id";
    /// <summary>Comma-separated ids of the workers that were given the invocation first and did not answer.</summary>
    public const string RetriedFrom = "Snapfn-Retried-From";
    /// <summary>Milliseconds the worker spent making the function local (fetching its artifacts) before the run;
    /// absent or 0 when it already held it.</summary>
    public const string FetchMs = "Snapfn-Fetch-Ms";
}

using Snapfn.Cluster.Artifacts;

namespace Snapfn.Cluster;

/// <summary>How this node keeps functions in the cluster (<see cref="FunctionReplicas"/>).</summary>
public sealed record ClusterOptions
{
    /// <summary>Copies JetStream keeps of each bucket this node creates (chunks, manifests, records): 3 for a cluster
    /// of three or more servers, so that one server's loss loses nothing; 1 for a lone server (it refuses more).
    /// Buckets that exist keep theirs.</summary>
    public int Replicas { get; init; } = 3;

    /// <summary>This node's name in the records it publishes (for the logs); the machine's name by default.</summary>
    public string NodeName { get; init; } = Environment.MachineName;

    /// <summary>What this node accepts from the cluster's stores (docs/limits.md).</summary>
    public ArtifactLimits Artifacts { get; init; } = new();

    /// <summary>How long the VM that takes this node's own snapshot may run (when this CPU cannot run the cluster's).</summary>
    public TimeSpan SnapshotTimeout { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>The CPU features snapshots are checked against (a seam for tests; this host's).</summary>
    internal CpuFeatures Cpu { get; init; } = CpuFeatures.Current;

    /// <summary>Takes this node's own snapshot of a function with a guest memory size (a seam for tests without KVM;
    /// the platform's <c>FunctionService.TakeSnapshot</c> when null).</summary>
    internal Func<string, int, CancellationToken, Task>? TakeOwnSnapshot { get; init; }

    /// <summary>Awaited when an ensure starts its work, before anything is read (a seam for tests of single-flight).</summary>
    internal Func<Task>? EnsureStarting { get; init; }
}

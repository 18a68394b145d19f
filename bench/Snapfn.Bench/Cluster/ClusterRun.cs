namespace Snapfn.Bench.Cluster;

/// <summary>Everything one run of the cluster experiment observed, from which <see cref="ClusterReport"/> computes its
/// figures: the requests as the client saw them, the kill, the workers' invocation logs, and how the functions'
/// snapshots reached the workers.</summary>
public sealed record ClusterRun
{
    public required ClusterSettings Settings { get; init; }
    /// <summary>The CPU the workers' guests ran on: on the emulated one, every time of the run is the emulator's.</summary>
    public required ExperimentCpu Cpu { get; init; }
    public required IReadOnlyList<string> WorkerIds { get; init; }
    /// <summary>The worker SIGKILLed, and when (ms since the burst started); null when the run stopped before.</summary>
    public string? KilledWorker { get; init; }
    public double? KillMs { get; init; }
    public required IReadOnlyList<ClusterRequest> Requests { get; init; }
    public IReadOnlyList<ServedInvocation> Served { get; init; } = [];
    public IReadOnlyList<ReplicaFetchReading> Fetches { get; init; } = [];
    public IReadOnlyList<SnapshotTaken> Snapshots { get; init; } = [];
    /// <summary>What the run could not read or do, said in the report rather than hidden.</summary>
    public IReadOnlyList<string> Notes { get; init; } = [];
}

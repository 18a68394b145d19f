namespace Snapfn.Cluster;

/// <summary>
/// A function as the cluster knows it: its metadata lives in JetStream's key-value store (not in one node's SQLite),
/// its code, snapshot and recordings in the object store. The serving side (workers, front doors) asks this for a
/// function; the artifact side implements it.
/// </summary>
public interface IFunctionReplicas
{
    /// <summary>Every function deployed to the cluster, by name.</summary>
    Task<IReadOnlyList<ClusterFunction>> ListAsync(CancellationToken ct);

    /// <summary>The function's cluster record, or null when no node deployed it.</summary>
    Task<ClusterFunction?> FindAsync(string name, CancellationToken ct);

    /// <summary>After a deploy (and its snapshot) on this node: puts the function's code, snapshot and recordings into
    /// the object store, then its record into the key-value store, so every worker can serve it.</summary>
    Task PublishAsync(string name, CancellationToken ct);

    /// <summary>Deletes the function from the cluster (its record, so that every node drops its copy and answers
    /// invocations of it as unknown) and from this node; false when neither had it.</summary>
    Task<bool> DeleteAsync(string name, CancellationToken ct);

    /// <summary>Before this node serves the function: makes the local platform hold its current version and snapshot,
    /// fetching only the chunks it lacks; a snapshot this CPU cannot run is retaken here, and the result says so.</summary>
    Task<ReplicaFetch> EnsureLocalAsync(string name, CancellationToken ct);
}

/// <summary>A function's cluster record. <paramref name="Retryable"/> false: a synchronous request whose worker vanished
/// is not sent again (the function declared itself non-retryable in snapfn.json).</summary>
public sealed record ClusterFunction(string Name, long Version, string Runtime, bool Retryable, bool HasSnapshot);

/// <summary>What <see cref="IFunctionReplicas.EnsureLocalAsync"/> did, for the logs and the cluster bench.
/// <paramref name="Joined"/>: this call found another call on this node already making the function local and waited
/// for it; what that run fetched is the other call's, and is counted once, with it.</summary>
public sealed record ReplicaFetch(
    bool AlreadyLocal,
    long ChunksFetched,
    long BytesFetched,
    TimeSpan Elapsed,
    bool TookOwnSnapshot,
    string? Note,
    bool Joined = false);

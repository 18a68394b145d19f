using Snapfn.Platform;

namespace Snapfn.Cluster.Artifacts;

/// <summary>
/// What a node accepts from the cluster's stores, checked before it allocates or writes anything: a manifest put by
/// a broken or hostile node must not make a worker fill its memory or disk. Documented in docs/limits.md.
/// </summary>
public sealed record ArtifactLimits
{
    /// <summary>
    /// The size of a chunk: 1 MiB. Small enough that a retaken snapshot (whose changes are scattered pages) shares
    /// most of its chunks with the previous one and a mostly-zero memory file leaves most chunks out; large enough
    /// that a 4 GiB guest is at most 4096 chunks, so its manifest stays a few hundred KB, below NATS's default
    /// 1 MiB message, and the per-object round trips (one existence check, one get) stay few.
    /// </summary>
    public const int DefaultChunkSize = 1 << 20;

    /// <summary>The smallest and largest chunk size a manifest may name: a node reads one chunk into memory.</summary>
    public const int MinChunkSize = 64 << 10;

    public const int MaxChunkSize = 16 << 20;

    /// <summary>Limit "artifact-size": the largest file one artifact may be (a snapshot memory file is as large as the
    /// guest memory, 4 GiB by default at most). 8 GiB at 1 MiB chunks is 8192 chunk names, a manifest of at most
    /// about 550 KB: within <see cref="MaxManifestBytes"/> and NATS's default 1 MiB message.</summary>
    public long MaxFileBytes { get; init; } = 8L << 30;

    /// <summary>Limit "artifact-code": the largest code artifact (an ELF or a script function's package) a node reads into memory
    /// to register it; the daemon's default deploy body limit.</summary>
    public long MaxCodeBytes { get; init; } = 64L << 20;

    /// <summary>The largest snapshot state file a node fetches (it is read into memory whole): the vCPU and a Linux
    /// program's process state are kilobytes; a state file this size is not one.</summary>
    public const long MaxStateBytes = 64L << 20;

    /// <summary>Limit "artifact-manifest": the largest manifest (or function record) read from the key-value store.</summary>
    public int MaxManifestBytes { get; init; } = 1 << 20;

    /// <summary>Limit "chunk-cache": how much the local chunk cache keeps; the least recently used chunks go first.</summary>
    public long MaxCacheBytes { get; init; } = 8L << 30;

    /// <summary>Chunks one upload or fetch moves at once (each holds a chunk's buffer): enough to hide the round trips
    /// of JetStream's per-object gets and puts, few enough to bound memory (4 x 1 MiB).</summary>
    public int ChunksInFlight { get; init; } = 4;

    /// <summary>The chunk size this node cuts files into (a fetch takes any size between the bounds).</summary>
    public int ChunkSize { get; init; } = DefaultChunkSize;

    /// <summary>The most chunks a manifest of <see cref="MaxFileBytes"/> may list at <paramref name="chunkSize"/>.</summary>
    public long MaxChunks(int chunkSize) => (MaxFileBytes + chunkSize - 1) / chunkSize;

    public void Validate()
    {
        if (ChunkSize is < MinChunkSize or > MaxChunkSize || !int.IsPow2(ChunkSize))
            throw new ArgumentOutOfRangeException(nameof(ChunkSize), ChunkSize, $"a chunk size is a power of two between {MinChunkSize} and {MaxChunkSize}");
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxFileBytes, 0);
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxManifestBytes, 1024);
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxCacheBytes, 0);
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxCodeBytes, 0);
        ArgumentOutOfRangeException.ThrowIfLessThan(ChunksInFlight, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(ChunksInFlight, 64);
    }

    internal LimitExceededException FileTooLarge(string what, long bytes) => new("artifact-size",
        $"{what} is {bytes} bytes, more than the {MaxFileBytes} an artifact may be",
        "raise it with ClusterOptions.Artifacts.MaxFileBytes on every node");

    internal LimitExceededException CodeTooLarge(string what, long bytes) => new("artifact-code",
        $"{what} is {bytes} bytes, more than the {MaxCodeBytes} a function's code may be",
        "raise it with ClusterOptions.Artifacts.MaxCodeBytes on every node");

    internal LimitExceededException ManifestTooLarge(string what, long bytes) => new("artifact-manifest",
        $"{what} is {bytes} bytes, more than the {MaxManifestBytes} a manifest may be",
        "raise it with ClusterOptions.Artifacts.MaxManifestBytes on every node");
}

namespace Snapfn.Platform;

/// <summary>Where a function came from: built into Snapfn (guest/build) or registered by a user.</summary>
public enum FunctionKind
{
    BuiltIn,
    User,
}

/// <summary>A function as the registry holds it, with its snapshot and recordings when it has them.</summary>
public sealed record RegisteredFunction
{
    public required string Name { get; init; }
    public required FunctionKind Kind { get; init; }
    public required string ElfPath { get; init; }
    public required string ElfSha256 { get; init; }
    public required int MemoryMib { get; init; }
    public required string Description { get; init; }
    public required bool IsTestGuest { get; init; }
    public required DateTimeOffset RegisteredAt { get; init; }
    public SnapshotRecord? Snapshot { get; init; }
    public IReadOnlyList<RecordingRecord> Recordings { get; init; } = [];
    /// <summary>How it asks to be served (keep_state, max_instances).</summary>
    public FunctionSettings Settings { get; init; } = FunctionSettings.Default;

    public FunctionInfo Info => new(Name, ElfPath, Description, IsTestGuest);
}

/// <summary>What serving one invocation needs, read from the registry in one go: the function's code and guest
/// memory, how it asks to be served, its snapshot (null when it has none) and the recordings made from that
/// snapshot (recordings of an earlier snapshot are left out).</summary>
public sealed record ServingFunction(FunctionInfo Info, int MemoryMib, FunctionSettings Settings, SnapshotRecord? Snapshot,
    IReadOnlyList<RecordingRecord> Recordings);

/// <summary>A snapshot the platform took: which one (the state file's id), from which ELF, and its checksum.</summary>
public sealed record SnapshotRecord
{
    public required Guid SnapshotId { get; init; }
    public required string ElfSha256 { get; init; }
    /// <summary>SHA-256 of the state file (which itself names the memory file).</summary>
    public required string StateSha256 { get; init; }
    public required string MemoryFile { get; init; }
    public required int MemoryMib { get; init; }
    public required long AllocatedBytes { get; init; }
    public required long DataPages { get; init; }
    public required DateTimeOffset TakenAt { get; init; }
}

/// <summary>A reap or faasnap recording made from a snapshot, with the SHA-256 of the whole file.</summary>
public sealed record RecordingRecord
{
    public required string Mode { get; init; }
    public required Guid SnapshotId { get; init; }
    public required string Path { get; init; }
    public required string Sha256 { get; init; }
    public required long Pages { get; init; }
    public required int Regions { get; init; }
    public required long FileBytes { get; init; }
    public required DateTimeOffset RecordedAt { get; init; }
}

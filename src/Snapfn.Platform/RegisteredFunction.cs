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

    public FunctionInfo Info => new(Name, ElfPath, Description, IsTestGuest);
}

/// <summary>What running a function needs: its ELF and the guest memory it is registered with.</summary>
public sealed record RunnableFunction(FunctionInfo Info, int MemoryMib);

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

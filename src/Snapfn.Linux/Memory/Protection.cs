namespace Snapfn.Linux.Memory;

/// <summary>PROT_* bits of a mapping. Recorded and used to check system-call pointers; the guest's page tables map
/// all of its memory read-write, so they are not enforced on the program's own loads and stores.</summary>
[Flags]
public enum Protection
{
    None = 0,
    Read = 1,
    Write = 2,
    Execute = 4,
}

/// <summary>What a mapping holds, for /proc-like listings, snapshots and messages.</summary>
public enum MappingKind
{
    Anonymous,
    File,
    Heap,
    Stack,
    Vdso,
}

/// <summary>One mapping of the program's address space: [Start, End), page-aligned; <paramref name="Shared"/> for a
/// MAP_SHARED file mapping whose stores reach the file (<see cref="SharedFileMappings"/>).</summary>
public sealed record Mapping(ulong Start, ulong End, Protection Protection, MappingKind Kind, string? Path = null, ulong FileOffset = 0,
    bool Shared = false)
{
    public ulong Length => End - Start;
}

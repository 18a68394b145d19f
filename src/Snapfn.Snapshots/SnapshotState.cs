using Snapfn.Vmm;

namespace Snapfn.Snapshots;

/// <summary>What a state file holds: which snapshot, of which code, with which memory file, the vCPU and, for a
/// Linux program, its process state.</summary>
public sealed record SnapshotState
{
    public required Guid Id { get; init; }
    public required string Function { get; init; }
    public required string ElfSha256 { get; init; }
    public required ulong MemorySize { get; init; }
    public required ulong ImageEnd { get; init; }
    public required string MemoryFileName { get; init; }
    public required DateTimeOffset CreatedAt { get; init; }
    public required VcpuState Vcpu { get; init; }

    /// <summary>SHA-256 of the VMM's own pages (<see cref="VmmPages.Digest"/>) as the snapshot was taken: a restore
    /// rebuilds them and refuses the snapshot if this VMM would build others.</summary>
    public required byte[] VmmPagesSha256 { get; init; }

    /// <summary>What the memory file held when written, for `snapfn verify`.</summary>
    public required MemoryDigest MemoryDigest { get; init; }

    /// <summary>The guest kernel's state, for a snapshot of a Linux program; null for a C function.</summary>
    public Linux.ProcessState? Process { get; init; }

    public GuestLayout Layout => GuestLayout.For(MemorySize, ImageEnd);
}

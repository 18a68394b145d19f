using Snapfn.Vmm;

namespace Snapfn.Snapshots;

/// <summary>What a state file holds: which snapshot, of which ELF, with which memory file, and the vCPU.</summary>
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

    public GuestLayout Layout => GuestLayout.For(MemorySize, ImageEnd);
}

using Snapfn.Vmm;

namespace Snapfn.Snapshots.Backends;

/// <summary>Firecracker's snapshot restore: mmap the memory file MAP_PRIVATE and let the guest fault pages in.</summary>
public sealed class VanillaBackend : IMemoryBackend
{
    public string Mode => "vanilla";

    public bool RunsCold => true;

    public IModeRecorder? Recorder => null;

    public IReadOnlyList<ModeCounter> Counters => [];

    public IReadOnlyList<string> Files(Snapshot snapshot) => [snapshot?.MemoryPath ?? throw new ArgumentNullException(nameof(snapshot))];

    public void Prepare(Snapshot snapshot)
    {
    }

    public RestoredMemory Restore(Snapshot snapshot, MemoryMapping target) => new(SnapshotMapping.MapMemoryFile(snapshot, target));
}

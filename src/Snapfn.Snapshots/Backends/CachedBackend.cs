using Snapfn.Vmm;

namespace Snapfn.Snapshots.Backends;

/// <summary>The paper's "Cached": vanilla with the memory file already in the page cache (read in, untimed).</summary>
public sealed class CachedBackend : IMemoryBackend
{
    public string Mode => "cached";

    /// <summary>Its point is that the memory file is in the page cache already.</summary>
    public bool RunsCold => false;

    public IModeRecorder? Recorder => null;

    public IReadOnlyList<ModeCounter> Counters => [];

    public IReadOnlyList<string> Files(Snapshot snapshot) => [snapshot?.MemoryPath ?? throw new ArgumentNullException(nameof(snapshot))];

    public void Prepare(Snapshot snapshot)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        PageCache.Load(snapshot.MemoryPath);
    }

    public RestoredMemory Restore(Snapshot snapshot, MemoryMapping target) => new(SnapshotMapping.MapMemoryFile(snapshot, target));
}

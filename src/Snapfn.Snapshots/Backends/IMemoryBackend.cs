using Snapfn.Vmm;

namespace Snapfn.Snapshots.Backends;

/// <summary>A restore mode that brings a snapshot's memory back (vanilla, cached, reap, faasnap).</summary>
public interface IMemoryBackend : IRestoreMode
{
    /// <summary>The files this mode reads for <paramref name="snapshot"/>: they are what `--cold` drops from the page cache.</summary>
    IReadOnlyList<string> Files(Snapshot snapshot);

    /// <summary>Untimed preparation before an invocation (cached: read the memory file into the page cache).</summary>
    void Prepare(Snapshot snapshot);

    /// <summary>Brings the snapshot's memory back into <paramref name="target"/> (a VM shell's fresh, untouched
    /// anonymous range of the snapshot's size) for one restore. Timed: it is part of restore latency.</summary>
    RestoredMemory Restore(Snapshot snapshot, MemoryMapping target);
}

using Snapfn.Vmm;

namespace Snapfn.Snapshots.Backends;

/// <summary>
/// Ours, beyond the paper: FaaSnap's restore with a loader that populates the guest's own mapping
/// (MADV_POPULATE_READ from the second core) instead of only the page cache, so that the guest's first touches
/// of the loading set do not fault. Each restore has its own loader: page tables are per VM.
/// </summary>
public sealed class FaasnapPopulateBackend : IMemoryBackend
{
    private readonly FaasnapBackend _faasnap = new("faasnap-populate", new PopulateChunkLoader());

    public string Mode => _faasnap.Mode;

    public bool RunsCold => true;

    /// <summary>The loading set is faasnap's own recording.</summary>
    public IModeRecorder? Recorder => _faasnap.Recorder;

    public IReadOnlyList<ModeCounter> Counters => _faasnap.Counters;

    public IReadOnlyList<string> Files(Snapshot snapshot) => _faasnap.Files(snapshot);

    public void Prepare(Snapshot snapshot)
    {
    }

    public RestoredMemory Restore(Snapshot snapshot, MemoryMapping target) => _faasnap.Restore(snapshot, target);
}

using Snapfn.Vmm;

namespace Snapfn.Snapshots.Backends;

/// <summary>
/// A floor for faasnap, not a system of the paper's: FaaSnap's own restore (per-region mapping, the loader
/// thread) with every file it reads already in the page cache. `cached` is vanilla with its file cached; this is
/// the same for faasnap, so that "how far from cached" has a floor that keeps faasnap's mapping costs.
/// </summary>
public sealed class FaasnapHotBackend : IMemoryBackend
{
    private readonly FaasnapBackend _faasnap = new();

    public string Mode => "faasnap-hot";

    /// <summary>Its point is that its files are in the page cache.</summary>
    public bool RunsCold => false;

    /// <summary>The loading set is faasnap's own recording.</summary>
    public IModeRecorder? Recorder => _faasnap.Recorder;

    public IReadOnlyList<ModeCounter> Counters => _faasnap.Counters;

    public IReadOnlyList<string> Files(Snapshot snapshot) => _faasnap.Files(snapshot);

    public void Prepare(Snapshot snapshot)
    {
        foreach (var file in Files(snapshot))
            PageCache.Load(file);
    }

    public RestoredMemory Restore(Snapshot snapshot, MemoryMapping target) => _faasnap.Restore(snapshot, target);
}

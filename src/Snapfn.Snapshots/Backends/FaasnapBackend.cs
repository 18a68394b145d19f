using Snapfn.Snapshots.Recording;
using Snapfn.Vmm;

namespace Snapfn.Snapshots.Backends;

/// <summary>
/// FaaSnap (EuroSys'22): per-region mapping (all memory anonymous, the snapshot's data ranges from the memory
/// file, the loading-set regions from the loading-set file, all MAP_PRIVATE) and concurrent paging (a loader
/// thread reads the loading-set file in recorded order while the vCPU already runs).
/// </summary>
public sealed class FaasnapBackend : IMemoryBackend
{
    public const string FileName = "faasnap.ls";

    public string Mode => "faasnap";

    public bool RunsCold => true;

    public IModeRecorder? Recorder { get; } = new FaasnapRecording();

    public IReadOnlyList<ModeCounter> Counters { get; } =
    [
        new("loading_set_pages", "pages of the recorded loading set"),
        new("loading_set_regions", "regions the loading set is mapped in"),
        new("data_ranges_mapped", "ranges of the memory file mapped (non-zero data outside the loading set)"),
        new("bytes_loaded", "bytes the loader thread brought into the page cache", 1.0 / 4096, "faasnap_loader"),
        new("loader_ms", "time the loader thread ran"),
    ];

    /// <summary>FaaSnap's record phase: one invocation on a cold vanilla mapping, mincore scans written down.</summary>
    private sealed class FaasnapRecording : IModeRecorder
    {
        public string FileName => FaasnapBackend.FileName;

        public RecordingResult Record(Snapshot snapshot, byte[] input, MicroVmOptions options, FaasnapRecordOptions recordOptions) =>
            FaasnapRecorder.Record(snapshot, input, options, recordOptions);

        public void Check(Snapshot snapshot, byte[]? input = null, FaasnapRecordOptions? recordOptions = null)
        {
            ArgumentNullException.ThrowIfNull(snapshot);
            RecordingFile.Check(snapshot.Folder.File(FileName), "faasnap", snapshot,
                input is null ? null : RecordingProvenance.Of(input, (recordOptions ?? new FaasnapRecordOptions()).Describe()));
        }
    }

    public IReadOnlyList<string> Files(Snapshot snapshot)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        return [snapshot.MemoryPath, snapshot.Folder.File(FileName)];
    }

    public void Prepare(Snapshot snapshot)
    {
    }

    public RestoredMemory Restore(Snapshot snapshot, MemoryMapping target)
    {
        SnapshotMapping.CheckTarget(snapshot, target);
        var path = snapshot.Folder.File(FileName);
        var recording = RecordingFile.Open(path, Mode, snapshot);
        // The target is anonymous already: zero pages stay that way, never read from any file.
        using (var memoryFile = SnapshotMapping.OpenReadOnly(snapshot.MemoryPath))
        {
            foreach (var range in recording.DataRanges)
                target.MapFilePrivate(range.Offset, range.Length, memoryFile, range.Offset);
        }
        using (var loadingSet = SnapshotMapping.OpenReadOnly(path))
        {
            foreach (var region in recording.Regions)
                target.MapFilePrivate(region.GuestOffset, region.Length, loadingSet, region.FileOffset);
        }
        // The loader starts before the vCPU does: that head start is the point of concurrent paging.
        var loader = new FaasnapLoader(recording, path, target.Address, FaasnapLoader.ConfiguredMethod());
        return new FaasnapMemory(new GuestMemory(target), recording, loader);
    }

    private sealed class FaasnapMemory : RestoredMemory
    {
        private readonly RecordingFile _recording;
        private readonly FaasnapLoader _loader;

        public FaasnapMemory(GuestMemory memory, RecordingFile recording, FaasnapLoader loader) : base(memory)
        {
            _recording = recording;
            _loader = loader;
        }

        public override void AfterRun() => _loader.Stop();

        public override string? Degraded =>
            _loader.Failure is { } failure ? $"the loader failed ({failure.Message}): the guest paged the loading set in itself" : null;

        public override IReadOnlyDictionary<string, double> Counters => new Dictionary<string, double>
        {
            ["loading_set_pages"] = _recording.Pages,
            ["loading_set_regions"] = _recording.Regions.Count,
            ["data_ranges_mapped"] = _recording.DataRanges.Count,
            ["bytes_loaded"] = _loader.BytesLoaded,
            ["loader_ms"] = _loader.LoadMilliseconds,
        };

        protected override void Dispose(bool disposing)
        {
            if (disposing)
                _loader.Dispose();
            base.Dispose(disposing);
        }
    }
}

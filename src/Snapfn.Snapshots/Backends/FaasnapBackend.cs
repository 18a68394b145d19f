using Snapfn.Snapshots.Recording;
using Snapfn.Vmm;

namespace Snapfn.Snapshots.Backends;

/// <summary>
/// FaaSnap (EuroSys'22): per-region mapping (all memory anonymous, the snapshot's data ranges from the memory
/// file, the loading-set regions from the loading-set file, all MAP_PRIVATE) and concurrent paging (a loader
/// thread reads the loading-set file in recorded order while the vCPU already runs). The `faasnap` mode loads as
/// FaaSnap's daemon does (<see cref="TouchChunkLoader"/>); a mode of ours may bring its own loader.
/// </summary>
public sealed class FaasnapBackend : IMemoryBackend
{
    public const string FileName = "faasnap.ls";

    /// <summary>The recording's kind: every FaaSnap-style mode restores from faasnap's own loading set.</summary>
    public const string RecordingKind = "faasnap";

    private readonly IChunkLoader _method;
    /// <summary>FaaSnap's daemon runs one loader per snapshot however many restores of it run at once: a loader
    /// that only fills the page cache serves them all.</summary>
    private readonly RestoreShare<FaasnapLoader> _shared = new();

    /// <summary>The paper's `faasnap`.</summary>
    public FaasnapBackend() : this(RecordingKind, new TouchChunkLoader())
    {
    }

    /// <summary>FaaSnap's restore under another <paramref name="mode"/> name, loading with <paramref name="method"/>.</summary>
    public FaasnapBackend(string mode, IChunkLoader method)
    {
        ArgumentNullException.ThrowIfNull(mode);
        ArgumentNullException.ThrowIfNull(method);
        Mode = mode;
        _method = method;
    }

    public string Mode { get; }

    public bool RunsCold => true;

    public IModeRecorder? Recorder { get; } = new FaasnapRecording();

    public IReadOnlyList<ModeCounter> Counters { get; } =
    [
        new("loading_set_pages", "pages of the recorded loading set"),
        new("loading_set_regions", "regions the loading set is mapped in"),
        new("data_ranges_mapped", "ranges of the memory file mapped (non-zero data outside the loading set)"),
        new("bytes_loaded", "bytes the loader thread brought in", 1.0 / 4096, "faasnap_loader"),
        new("loader_ms", "time the loader thread ran"),
        new("loader_shared", "1 when the restore joined a loader already running for the snapshot (concurrent restores)"),
        new("pages_outside_loading_set", "pages of the memory file's data the guest faulted in outside the loading set (read from the host page tables " +
            "after the run; the kernel's fault-around can add up to 15 cached neighbours per fault)", OutsideRecording: true),
    ];

    /// <summary>FaaSnap's record phase: one invocation on a cold vanilla mapping, mincore scans written down.</summary>
    private sealed class FaasnapRecording : IModeRecorder
    {
        public string FileName => FaasnapBackend.FileName;

        public RecordingResult Record(Snapshot snapshot, byte[] input, MicroVmOptions options, FaasnapRecordOptions recordOptions, string? path = null) =>
            FaasnapRecorder.Record(snapshot, input, options, recordOptions, path);

        public void Check(Snapshot snapshot, byte[]? input = null, FaasnapRecordOptions? recordOptions = null)
        {
            ArgumentNullException.ThrowIfNull(snapshot);
            RecordingFile.Check(snapshot.Folder.File(FileName), RecordingKind, snapshot,
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
        // Index, mappings and loader all from one file, even if a new recording replaces it meanwhile; the mappings
        // and the loader's view keep that file once the descriptor is closed.
        using var pinned = RecordingFile.Pin(path, RecordingKind, snapshot);
        var recording = pinned.Recording;
        // The target is anonymous already: zero pages stay that way, never read from any file.
        using (var memoryFile = SnapshotMapping.OpenReadOnly(snapshot.MemoryPath))
        {
            foreach (var range in recording.DataRanges)
                target.MapFilePrivate(range.Offset, range.Length, memoryFile, range.Offset);
        }
        foreach (var region in recording.Regions)
            target.MapFilePrivate(region.GuestOffset, region.Length, pinned.File, region.FileOffset);
        // The loader starts before the vCPU does: that head start is the point of concurrent paging.
        var lease = _method.PageCacheOnly
            ? _shared.Join(path, pinned.Version, () => new FaasnapLoader(recording, pinned.File, path, target.Address, _method))
            : RestoreLease.Own(new FaasnapLoader(recording, pinned.File, path, target.Address, _method));
        return new FaasnapMemory(new GuestMemory(target), recording, lease, _method.PageCacheOnly, OutsideLoadingSet(recording));
    }

    /// <summary>The memory file's data outside the loading set, per recording (a restore reads it after its run).</summary>
    private static IReadOnlyList<GuestRange> OutsideLoadingSet(RecordingFile recording) =>
        _outside.GetValue(recording, r => new OutsideRanges(MappedPages.Outside(r.DataRanges, r.Regions))).Ranges;

    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<RecordingFile, OutsideRanges> _outside = new();

    private sealed record OutsideRanges(IReadOnlyList<GuestRange> Ranges);

    private sealed class FaasnapMemory : RestoredMemory
    {
        private readonly RecordingFile _recording;
        private readonly RestoreLease<FaasnapLoader> _lease;
        private readonly bool _shared;
        private readonly IReadOnlyList<GuestRange> _outside;
        private long? _outsidePages;
        private long _bytesLoaded;
        private double _loaderMs;
        private Exception? _failure;

        public FaasnapMemory(GuestMemory memory, RecordingFile recording, RestoreLease<FaasnapLoader> lease, bool shared,
            IReadOnlyList<GuestRange> outside) : base(memory)
        {
            _outside = outside;
            _recording = recording;
            _lease = lease;
            _shared = shared;
        }

        /// <summary>The guest is done: an own loader is stopped, its figures kept and the lease let go (the last
        /// holder of a shared loader stops it).</summary>
        public override void AfterRun()
        {
            var loader = _lease.Value;
            // A shared loader is stopped by the last restore to let go, not by the first to finish.
            if (!_shared)
                loader.Stop();
            _bytesLoaded = loader.BytesLoaded;
            _loaderMs = loader.LoadMilliseconds;
            _failure = loader.Failure;
            _lease.Release();
            // After the run (outside its timing), while the guest's mappings still exist: which of the memory file's
            // pages outside the loading set it needed — how far this request drifted from the recorded one.
            try
            {
                _outsidePages = MappedPages.Count(Memory.HostAddress, _outside);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // A figure for the platform's drift watch, never a reason to fail the request: left out.
                _outsidePages = null;
            }
        }

        public override string? Degraded =>
            _failure is { } failure ? $"the loader failed ({failure.Message}): the guest paged the loading set in itself" : null;

        public override IReadOnlyDictionary<string, double> Counters => WithOutside(new Dictionary<string, double>
        {
            ["loading_set_pages"] = _recording.Pages,
            ["loading_set_regions"] = _recording.Regions.Count,
            ["data_ranges_mapped"] = _recording.DataRanges.Count,
            ["bytes_loaded"] = _bytesLoaded,
            ["loader_ms"] = _loaderMs,
            ["loader_shared"] = _lease.Joined ? 1 : 0,
        });

        private Dictionary<string, double> WithOutside(Dictionary<string, double> counters)
        {
            if (_outsidePages is { } pages)
                counters["pages_outside_loading_set"] = pages;
            return counters;
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
                _lease.Release();
            base.Dispose(disposing);
        }
    }
}

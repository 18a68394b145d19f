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
    private readonly SharedLoaders _shared = new();

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
        var recording = RecordingFile.Open(path, RecordingKind, snapshot);
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
        var lease = _method.PageCacheOnly
            ? _shared.Join(path, recording, () => new FaasnapLoader(recording, path, target.Address, _method))
            : LoaderLease.Own(new FaasnapLoader(recording, path, target.Address, _method));
        return new FaasnapMemory(new GuestMemory(target), recording, lease);
    }

    /// <summary>A restore's hold on a loader: its own, or one shared by the concurrent restores of a snapshot.</summary>
    private sealed class LoaderLease(FaasnapLoader loader, bool shared, bool joined, Action release)
    {
        private Action? _release = release;

        public FaasnapLoader Loader { get; } = loader;

        /// <summary>True when concurrent restores may hold the same loader: no one holder may stop it.</summary>
        public bool Shared { get; } = shared;

        /// <summary>True when another restore had started the loader.</summary>
        public bool Joined { get; } = joined;

        public static LoaderLease Own(FaasnapLoader loader) => new(loader, shared: false, joined: false, loader.Dispose);

        /// <summary>Lets go of the loader; the last holder stops it. Idempotent.</summary>
        public void Release() => Interlocked.Exchange(ref _release, null)?.Invoke();
    }

    /// <summary>
    /// FaaSnap's daemon runs one loader per snapshot however many restores of it run at once: a loader that only
    /// fills the page cache serves them all. The first restore starts it, later ones join while it is held, and
    /// the last to finish stops it (the next restore after that starts a new one).
    /// </summary>
    private sealed class SharedLoaders
    {
        private readonly Lock _lock = new();
        private readonly Dictionary<(string Path, Guid Snapshot), (FaasnapLoader Loader, int Holders)> _running = [];

        public LoaderLease Join(string path, RecordingFile recording, Func<FaasnapLoader> start)
        {
            var key = (path, recording.SnapshotId);
            lock (_lock)
            {
                var joined = _running.TryGetValue(key, out var entry);
                var loader = joined ? entry.Loader : start();
                _running[key] = (loader, joined ? entry.Holders + 1 : 1);
                return new LoaderLease(loader, shared: true, joined, () => Leave(key));
            }
        }

        private void Leave((string Path, Guid Snapshot) key)
        {
            FaasnapLoader? last = null;
            lock (_lock)
            {
                var (loader, holders) = _running[key];
                if (holders == 1)
                {
                    _running.Remove(key);
                    last = loader;
                }
                else
                {
                    _running[key] = (loader, holders - 1);
                }
            }
            // Outside the lock: stopping waits for the thread's current chunk.
            last?.Dispose();
        }
    }

    private sealed class FaasnapMemory : RestoredMemory
    {
        private readonly RecordingFile _recording;
        private readonly LoaderLease _lease;
        private long _bytesLoaded;
        private double _loaderMs;
        private Exception? _failure;

        public FaasnapMemory(GuestMemory memory, RecordingFile recording, LoaderLease lease) : base(memory)
        {
            _recording = recording;
            _lease = lease;
        }

        /// <summary>The guest is done: an own loader is stopped, its figures kept and the lease let go (the last
        /// holder of a shared loader stops it).</summary>
        public override void AfterRun()
        {
            var loader = _lease.Loader;
            if (!_lease.Shared)
                loader.Stop();
            _bytesLoaded = loader.BytesLoaded;
            _loaderMs = loader.LoadMilliseconds;
            _failure = loader.Failure;
            _lease.Release();
        }

        public override string? Degraded =>
            _failure is { } failure ? $"the loader failed ({failure.Message}): the guest paged the loading set in itself" : null;

        public override IReadOnlyDictionary<string, double> Counters => new Dictionary<string, double>
        {
            ["loading_set_pages"] = _recording.Pages,
            ["loading_set_regions"] = _recording.Regions.Count,
            ["data_ranges_mapped"] = _recording.DataRanges.Count,
            ["bytes_loaded"] = _bytesLoaded,
            ["loader_ms"] = _loaderMs,
            ["loader_shared"] = _lease.Joined ? 1 : 0,
        };

        protected override void Dispose(bool disposing)
        {
            if (disposing)
                _lease.Release();
            base.Dispose(disposing);
        }
    }
}

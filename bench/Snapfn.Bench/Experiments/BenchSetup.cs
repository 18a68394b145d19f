using Snapfn.Platform;
using Snapfn.Snapshots;
using Snapfn.Snapshots.Backends;
using Snapfn.Snapshots.Recording;
using Snapfn.Vmm;

namespace Snapfn.Bench.Experiments;

/// <summary>
/// What every experiment shares: the services `snapfn snapshot`, `snapfn record` and `snapfn invoke` use (so that
/// the registry knows of what a bench made), and taking what is missing or stale before anything is timed.
/// </summary>
public sealed class BenchSetup : IDisposable
{
    public BenchSetup(FunctionCatalog catalog, SnapfnHome home, MicroVmOptions vmOptions)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(home);
        Catalog = catalog;
        Home = home;
        VmOptions = vmOptions;
        Snapshots = new SnapshotService(home);
        Recorder = new RecordService(Snapshots);
        // Room for the shells of the largest burst the concurrency experiment makes ahead of it.
        Invoker = new Invoker(Snapshots, shells: new ShellPool(maxIdle: ConcurrencyExperiment.Levels.Max())) { SampleHugePages = true };
        Service = new FunctionService(home, catalog);
    }

    public FunctionCatalog Catalog { get; }

    public SnapfnHome Home { get; }

    public MicroVmOptions VmOptions { get; }

    public SnapshotService Snapshots { get; }

    public RecordService Recorder { get; }

    public Invoker Invoker { get; }

    public FunctionService Service { get; }

    /// <summary>Memory files with their zero pages written out, as Firecracker writes full snapshots, rather than
    /// left as holes (`--full-memory-file`); every prepared snapshot is given that layout.</summary>
    public bool FullMemoryFiles { get; init; }

    /// <summary>Takes what is missing or no longer valid: the snapshot, then the recordings <paramref name="modes"/>
    /// need, made with <paramref name="recordInput"/> and <paramref name="recordOptions"/> (a recording made with
    /// another input or other options is made again).</summary>
    public Snapshot Prepare(FunctionInfo function, IReadOnlyList<string> modes, byte[] recordInput, Action<string> progress,
        FaasnapRecordOptions? recordOptions = null)
    {
        ArgumentNullException.ThrowIfNull(function);
        ArgumentNullException.ThrowIfNull(modes);
        ArgumentNullException.ThrowIfNull(progress);
        Snapshot? snapshot = null;
        try
        {
            snapshot = Snapshots.Open(function);
        }
        catch (SnapshotInvalidException)
        {
        }
        var fresh = false;
        if (snapshot is null)
        {
            progress("taking the snapshot");
            Service.TakeSnapshot(function.Name, (int)(VmOptions.MemorySize >> 20), TimeSpan.FromMinutes(10));
            fresh = true;
        }
        // Modes that share a recording (faasnap-hot uses faasnap's) record it once.
        var recorded = new HashSet<string>(StringComparer.Ordinal);
        foreach (var mode in modes.Where(m => RecordService.Modes.Contains(m)))
        {
            var file = RestoreModes.Get(mode).Recorder!.FileName;
            if (recorded.Contains(file) || !fresh && RecordingIsValid(function, mode, recordInput, recordOptions))
                continue;
            progress($"recording {mode}");
            Service.Record(function.Name, mode, recordInput, VmOptions.Timeout, recordOptions);
            recorded.Add(file);
        }
        var prepared = Snapshots.Open(function);
        // The content is the same either way (recordings stay valid); a cold restore reads what the layout stores.
        MemoryFileLayout.Ensure(prepared.MemoryPath, FullMemoryFiles);
        return prepared;
    }

    private bool RecordingIsValid(FunctionInfo function, string mode, byte[] input, FaasnapRecordOptions? recordOptions)
    {
        try
        {
            Recorder.Check(function, mode, input, recordOptions);
            return true;
        }
        catch (SnapshotInvalidException)
        {
            return false;
        }
    }

    public void Dispose()
    {
        Service.Dispose();
        Invoker.Dispose();
    }
}

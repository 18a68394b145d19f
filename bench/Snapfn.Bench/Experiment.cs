using Snapfn.Bench.Inputs;
using Snapfn.Platform;
using Snapfn.Snapshots;
using Snapfn.Snapshots.Backends;
using Snapfn.Vmm;

namespace Snapfn.Bench;

/// <summary>Progress reported while the experiment runs.</summary>
public sealed record BenchProgress(string Function, string Step, int Done, int Total);

/// <summary>
/// The paper's experiment: per function, snapshot (if missing), record reap and faasnap with input A (if
/// missing or stale), then per repetition every mode in a shuffled order with input B, each mode's files made
/// cold first except for cached and warm (whose point is that memory is already there).
/// </summary>
public sealed class Experiment
{
    private readonly FunctionCatalog _catalog;
    private readonly SnapfnHome _home;
    private readonly SnapshotService _snapshots;
    private readonly RecordService _recorder;
    private readonly MicroVmOptions _vmOptions;

    public Experiment(FunctionCatalog catalog, SnapfnHome home, MicroVmOptions vmOptions)
    {
        _catalog = catalog;
        _home = home;
        _snapshots = new SnapshotService(home);
        _recorder = new RecordService(_snapshots);
        _vmOptions = vmOptions;
    }

    public List<BenchRun> Runs { get; } = [];

    /// <summary>Each function's working set with inputs A and B, measured (untimed) before its runs.</summary>
    public Dictionary<string, WorkingSet> WorkingSets { get; } = [];

    public bool Partial { get; private set; }

    public void Run(BenchOptions options, Action<BenchProgress> progress, CancellationToken cancel)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(progress);
        var random = new Random(options.Seed);
        var testSet = Enum.Parse<InputSet>(options.TestInputSet);
        var total = options.Functions.Count * options.Repeat * options.Modes.Count;
        var done = 0;
        using var invoker = new Invoker(_snapshots);
        // Snapshots and recordings go through the function service, as `snapfn snapshot` and `snapfn record` do, so
        // that the registry knows of what the bench made (`snapfn functions` shows it).
        using var service = new FunctionService(_home, _catalog);
        try
        {
            foreach (var name in options.Functions)
            {
                cancel.ThrowIfCancellationRequested();
                var function = _catalog.Get(name);
                var inputA = WorkloadInputs.Get(_catalog, name, InputSet.A);
                var inputTest = WorkloadInputs.Get(_catalog, name, testSet);
                Prepare(service, function, options.Modes, inputA, s => progress(new BenchProgress(name, s, done, total)));
                progress(new BenchProgress(name, "measuring working sets A and B", done, total));
                var snapshot = _snapshots.Open(function);
                WorkingSets[name] = new WorkingSet(
                    Snapshots.Recording.ReapRecorder.CountWorkingSet(snapshot, inputA, _vmOptions),
                    Snapshots.Recording.ReapRecorder.CountWorkingSet(snapshot, WorkloadInputs.Get(_catalog, name, InputSet.B), _vmOptions));
                if (options.Modes.Contains(WarmMode.Name))
                {
                    // Keep-alive means a VM that already served a request: the first one is not measured.
                    progress(new BenchProgress(name, "warming a VM", done, total));
                    invoker.Invoke(new InvocationRequest(function, WarmMode.Name, inputTest, Cold: false), _vmOptions, CancellationToken.None);
                }
                for (var rep = 0; rep < options.Repeat; rep++)
                {
                    foreach (var mode in options.Modes.OrderBy(_ => random.Next()).ToList())
                    {
                        cancel.ThrowIfCancellationRequested();
                        progress(new BenchProgress(name, $"repetition {rep + 1}/{options.Repeat}: {mode}", done, total));
                        var cold = RestoreModes.Get(mode).RunsCold;
                        // Ctrl-C lets the invocation in progress finish, so that every run written is a whole one.
                        var result = invoker.Invoke(new InvocationRequest(function, mode, inputTest, cold), _vmOptions, CancellationToken.None);
                        Runs.Add(new BenchRun(name, mode, options.TestInputSet, rep, result.RestoreMs, result.ExecuteMs,
                            result.TotalMs, result.CachedPagesBefore, result.Counters, result.Degraded));
                        done++;
                    }
                }
                invoker.Pool.Evict(name);
            }
        }
        catch (OperationCanceledException)
        {
            Partial = true;
        }
    }

    /// <summary>Takes what is missing or no longer valid: the snapshot, then the recordings the modes need.</summary>
    private void Prepare(FunctionService service, FunctionInfo function, IReadOnlyList<string> modes, byte[] inputA, Action<string> progress)
    {
        Snapshot? snapshot = null;
        try
        {
            snapshot = _snapshots.Open(function);
        }
        catch (SnapshotInvalidException)
        {
        }
        var fresh = false;
        if (snapshot is null)
        {
            progress("taking the snapshot");
            service.TakeSnapshot(function.Name, (int)(_vmOptions.MemorySize >> 20), TimeSpan.FromMinutes(10));
            fresh = true;
        }
        // Modes that share a recording (faasnap-hot uses faasnap's) record it once.
        var recorded = new HashSet<string>(StringComparer.Ordinal);
        foreach (var mode in modes.Where(m => RecordService.Modes.Contains(m)))
        {
            var file = RestoreModes.Get(mode).Recorder!.FileName;
            if (recorded.Contains(file) || !fresh && RecordingIsValid(function, mode, inputA))
                continue;
            progress($"recording {mode} with input A");
            service.Record(function.Name, mode, inputA, _vmOptions.Timeout);
            recorded.Add(file);
        }
    }

    /// <summary>A recording counts only if it was made with this run's input A and default options.</summary>
    private bool RecordingIsValid(FunctionInfo function, string mode, byte[] inputA)
    {
        try
        {
            _recorder.Check(function, mode, inputA);
            return true;
        }
        catch (SnapshotInvalidException)
        {
            return false;
        }
    }
}

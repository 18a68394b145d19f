using Snapfn.Bench.Inputs;
using Snapfn.Platform;
using Snapfn.Snapshots;
using Snapfn.Snapshots.Backends;
using Snapfn.Vmm;

namespace Snapfn.Bench.Experiments;

/// <summary>Progress reported while the experiment runs.</summary>
public sealed record BenchProgress(string Function, string Step, int Done, int Total);

/// <summary>
/// The paper's experiment (E1): per function, snapshot (if missing), record reap and faasnap with input A (if
/// missing or stale), then per repetition every mode in a shuffled order with input B, each mode's files made
/// cold first except for cached and warm (whose point is that memory is already there).
/// </summary>
public sealed class PaperExperiment
{
    private readonly BenchSetup _setup;

    public PaperExperiment(BenchSetup setup)
    {
        ArgumentNullException.ThrowIfNull(setup);
        _setup = setup;
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
        var catalog = _setup.Catalog;
        var invoker = _setup.Invoker;
        var vmOptions = _setup.VmOptions;
        try
        {
            foreach (var name in options.Functions)
            {
                cancel.ThrowIfCancellationRequested();
                var function = catalog.Get(name);
                var inputA = WorkloadInputs.Get(catalog, name, InputSet.A);
                var inputTest = WorkloadInputs.Get(catalog, name, testSet);
                var snapshot = _setup.Prepare(function, options.Modes, inputA, s => progress(new BenchProgress(name, s + " with input A", done, total)), options.FaasnapRecording);
                progress(new BenchProgress(name, "measuring working sets A and B", done, total));
                WorkingSets[name] = new WorkingSet(
                    Snapshots.Recording.ReapRecorder.CountWorkingSet(snapshot, inputA, vmOptions),
                    Snapshots.Recording.ReapRecorder.CountWorkingSet(snapshot, WorkloadInputs.Get(catalog, name, InputSet.B), vmOptions));
                if (options.Modes.Contains(WarmMode.Name))
                {
                    // Keep-alive means a VM that already served a request: the first one is not measured.
                    progress(new BenchProgress(name, "warming a VM", done, total));
                    invoker.Invoke(new InvocationRequest(function, WarmMode.Name, inputTest, Cold: false), vmOptions, CancellationToken.None);
                }
                for (var rep = 0; rep < options.Repeat; rep++)
                {
                    foreach (var mode in options.Modes.OrderBy(_ => random.Next()).ToList())
                    {
                        cancel.ThrowIfCancellationRequested();
                        progress(new BenchProgress(name, $"repetition {rep + 1}/{options.Repeat}: {mode}", done, total));
                        var cold = RestoreModes.Get(mode).RunsCold;
                        // Ctrl-C lets the invocation in progress finish, so that every run written is a whole one.
                        var result = invoker.Invoke(new InvocationRequest(function, mode, inputTest, cold), vmOptions, CancellationToken.None);
                        Runs.Add(BenchRun.Of(result, options.TestInputSet, rep));
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
}

using Snapfn.Bench.Inputs;
using Snapfn.Platform;
using Snapfn.Snapshots.Backends;

namespace Snapfn.Bench.Experiments;

/// <summary>One measured invocation of the drift experiment: a function, a mode and one rung of its ladder.</summary>
public sealed record DriftRun(
    string Function,
    string Mode,
    int Rung,
    string Input,
    double Size,
    string Unit,
    bool Recorded,
    bool OtherContent,
    int Repetition,
    double RestoreMs,
    double ExecuteMs,
    double TotalMs,
    IReadOnlyDictionary<string, double> Counters,
    string? Degraded,
    long? FilePmdMappedKb);

/// <summary>
/// The paper's working-set-change experiment (E2): per function, record with the third rung of its input ladder,
/// then test every rung (six growing sizes and one of the recorded size with other content) in every mode, in a
/// shuffled order, each mode's files made cold first as in E1. A mode that relies on the recording (REAP's
/// working set above all) pays when the input, and with it the working set, moves away from the recorded one.
/// </summary>
public sealed class DriftExperiment
{
    private readonly BenchSetup _setup;

    public DriftExperiment(BenchSetup setup)
    {
        ArgumentNullException.ThrowIfNull(setup);
        _setup = setup;
    }

    public List<DriftRun> Runs { get; } = [];

    public bool Partial { get; private set; }

    /// <summary>The functions of <paramref name="candidates"/> whose input size can vary.</summary>
    public static IReadOnlyList<string> Eligible(IEnumerable<string> candidates) => [.. candidates.Where(DriftLadder.Has)];

    public void Run(BenchOptions options, Action<BenchProgress> progress, CancellationToken cancel)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(progress);
        var random = new Random(options.Seed);
        var ladders = options.Functions.ToDictionary(f => f, f => DriftLadder.For(_setup.Catalog, f));
        var total = ladders.Values.Sum(l => l.Count) * options.Repeat * options.Modes.Count;
        var done = 0;
        try
        {
            foreach (var name in options.Functions)
            {
                cancel.ThrowIfCancellationRequested();
                var function = _setup.Catalog.Get(name);
                var ladder = ladders[name];
                var recorded = ladder.Single(r => r.IsRecorded);
                _setup.Prepare(function, options.Modes, recorded.Bytes,
                    s => progress(new BenchProgress(name, $"{s} with {recorded.Label}", done, total)), options.FaasnapRecording);
                for (var rep = 0; rep < options.Repeat; rep++)
                {
                    // Every (rung, mode) pair once per repetition, in a fresh random order: drift in the machine
                    // (the disk's throughput varies) spreads over all of them alike.
                    var pairs = ladder.Select((rung, index) => (rung, index)).SelectMany(r => options.Modes.Select(m => (r.rung, r.index, mode: m)))
                        .OrderBy(_ => random.Next()).ToList();
                    foreach (var (rung, index, mode) in pairs)
                    {
                        cancel.ThrowIfCancellationRequested();
                        progress(new BenchProgress(name, $"repetition {rep + 1}/{options.Repeat}: {mode}, {rung.Label}", done, total));
                        var result = _setup.Invoker.Invoke(new InvocationRequest(function, mode, rung.Bytes, RestoreModes.Get(mode).RunsCold),
                            _setup.VmOptions, CancellationToken.None);
                        Runs.Add(new DriftRun(name, mode, index, rung.Label, rung.Size, rung.Unit, rung.IsRecorded, rung.OtherContent, rep,
                            result.RestoreMs, result.ExecuteMs, result.TotalMs, result.Counters, result.Degraded, result.FilePmdMappedKb));
                        done++;
                    }
                }
                _setup.Invoker.Pool.Evict(name);
            }
        }
        catch (OperationCanceledException)
        {
            Partial = true;
        }
    }
}

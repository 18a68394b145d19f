using System.Diagnostics;
using Snapfn.Bench.Inputs;
using Snapfn.Platform;
using Snapfn.Snapshots;
using Snapfn.Snapshots.Backends;

namespace Snapfn.Bench.Experiments;

/// <summary>N restores at once: of one snapshot (one page cache, one loader), or of N copies of it (N files).</summary>
public enum ConcurrencyTarget
{
    OneSnapshot,
    Copies,
}

/// <summary>One invocation of a burst.</summary>
public sealed record ConcurrencyRun(
    string Function,
    string Mode,
    ConcurrencyTarget Target,
    int Concurrency,
    int Repetition,
    double RestoreMs,
    double ExecuteMs,
    double TotalMs,
    double BurstMs,
    IReadOnlyDictionary<string, double> Counters,
    string? Degraded);

/// <summary>
/// The paper's concurrency experiment (E3): for N = 1, 2, 4, 8, N invocations of a function start together, each
/// restoring its own VM; the files are dropped from the page cache once, before the burst (not per VM), so the
/// burst shares one cold page cache. Against one snapshot, FaaSnap's restores share one loader and REAP's share one
/// read of the working set, as their daemons do; against N copies of the snapshot, nothing is shared.
/// </summary>
public sealed class ConcurrencyExperiment
{
    public static readonly int[] Levels = [1, 2, 4, 8];

    private readonly BenchSetup _setup;

    public ConcurrencyExperiment(BenchSetup setup)
    {
        ArgumentNullException.ThrowIfNull(setup);
        _setup = setup;
    }

    public List<ConcurrencyRun> Runs { get; } = [];

    public bool Partial { get; private set; }

    public void Run(BenchOptions options, IReadOnlyList<int> levels, Action<BenchProgress> progress, CancellationToken cancel)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(levels);
        ArgumentNullException.ThrowIfNull(progress);
        var random = new Random(options.Seed);
        var targets = Enum.GetValues<ConcurrencyTarget>();
        var total = options.Functions.Count * options.Repeat * options.Modes.Count * levels.Count * targets.Length;
        var done = 0;
        var copiesRoot = Path.Combine(_setup.Home.Path, "bench", "copies");
        try
        {
            foreach (var name in options.Functions)
            {
                cancel.ThrowIfCancellationRequested();
                var function = _setup.Catalog.Get(name);
                var inputA = WorkloadInputs.Get(_setup.Catalog, name, InputSet.A);
                var inputB = WorkloadInputs.Get(_setup.Catalog, name, InputSet.B);
                var snapshot = _setup.Prepare(function, options.Modes, inputA,
                    s => progress(new BenchProgress(name, s + " with input A", done, total)), options.FaasnapRecording);
                progress(new BenchProgress(name, $"copying the snapshot {levels.Max()} times", done, total));
                using var copies = SnapshotCopies.Make(_setup.Home, snapshot, function, Path.Combine(copiesRoot, name), levels.Max());
                for (var rep = 0; rep < options.Repeat; rep++)
                {
                    var bursts = levels.SelectMany(n => options.Modes.SelectMany(m => targets.Select(t => (n, mode: m, target: t))))
                        .OrderBy(_ => random.Next()).ToList();
                    foreach (var (n, mode, target) in bursts)
                    {
                        cancel.ThrowIfCancellationRequested();
                        progress(new BenchProgress(name, $"repetition {rep + 1}/{options.Repeat}: {mode}, {n} at once, {Describe(target)}", done, total));
                        var invokers = target == ConcurrencyTarget.OneSnapshot
                            ? Enumerable.Repeat(_setup.Invoker, n).ToList()
                            : copies.Invokers.Take(n).ToList();
                        Runs.AddRange(Burst(name, function, mode, target, rep, invokers, inputB));
                        done++;
                    }
                }
                foreach (var invoker in copies.Invokers.Prepend(_setup.Invoker))
                    invoker.Pool.Evict(name);
            }
        }
        catch (OperationCanceledException)
        {
            Partial = true;
        }
    }

    public static string Describe(ConcurrencyTarget target) => target == ConcurrencyTarget.OneSnapshot ? "one snapshot" : "N copies";

    /// <summary>One burst: each invoker restores one VM; all start at once after one drop of every file involved.</summary>
    private List<ConcurrencyRun> Burst(string name, FunctionInfo function, string mode, ConcurrencyTarget target, int rep,
        List<Invoker> invokers, byte[] input)
    {
        if (RestoreModes.Get(mode).RunsCold)
        {
            foreach (var invoker in invokers.Distinct())
                invoker.MakeCold(function, mode);
        }
        else if (RestoreModes.Get(mode) is IMemoryBackend backend)
        {
            // cached and faasnap-hot: their point is memory already there (each restore checks it again, cheaply).
            foreach (var invoker in invokers.Distinct())
                backend.Prepare(invoker.Snapshots.Open(function));
        }
        // Every VM's shell made ahead, as a daemon keeps them: the burst times restores, not KVM VM creation.
        foreach (var group in invokers.GroupBy(i => i))
            group.Key.Shells.Fill(group.Key.Snapshots.Open(function).State.MemorySize, group.Count());
        using var start = new Barrier(invokers.Count + 1);
        var results = new InvocationResult[invokers.Count];
        var failures = new Exception?[invokers.Count];
        var threads = invokers.Select((invoker, i) => new Thread(() =>
        {
            start.SignalAndWait();
            try
            {
                // Cold is false: the burst's one drop happened above; a per-VM drop would empty the others' cache.
                results[i] = invoker.Invoke(new InvocationRequest(function, mode, input, Cold: false), _setup.VmOptions, CancellationToken.None);
            }
            catch (Exception e)
            {
                failures[i] = e;
            }
        }) { IsBackground = true, Name = $"burst-{i}" }).ToList();
        threads.ForEach(t => t.Start());
        start.SignalAndWait();
        threads.ForEach(t => t.Join());
        // The first failure as it was thrown (its type says what kind of failure it is).
        if (failures.FirstOrDefault(f => f is not null) is { } failure)
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(failure);
        // From the first restore's start to the last RESULT: the burst's restores and runs, not the untimed checks
        // around each invocation.
        var burstMs = Stopwatch.GetElapsedTime(results.Min(r => r.StartedAt), results.Max(r => r.StoppedAt)).TotalMilliseconds;
        return [.. results.Select(r => new ConcurrencyRun(name, mode, target, invokers.Count, rep, r.RestoreMs, r.ExecuteMs, r.TotalMs, burstMs,
            r.Counters, r.Degraded))];
    }

    /// <summary>
    /// N copies of a snapshot, each in a functions folder of its own (a snapshot names its function, so copies cannot
    /// sit side by side in one folder), with its own invoker; deleted on dispose.
    /// </summary>
    private sealed class SnapshotCopies : IDisposable
    {
        private readonly string _root;

        private SnapshotCopies(string root, IReadOnlyList<Invoker> invokers)
        {
            _root = root;
            Invokers = invokers;
        }

        public IReadOnlyList<Invoker> Invokers { get; }

        public static SnapshotCopies Make(SnapfnHome home, Snapshot snapshot, FunctionInfo function, string root, int count)
        {
            if (Directory.Exists(root))
                Directory.Delete(root, recursive: true);
            var invokers = new List<Invoker>();
            try
            {
                for (var i = 0; i < count; i++)
                {
                    // The same home (runtime roots above all: a snapshot names the root it was taken with), with
                    // the functions' folders elsewhere.
                    var copy = home.WithFunctionsAt(Path.Combine(root, $"copy-{i}"));
                    SnapshotFiles.CopyTo(snapshot, copy.SnapshotFolder(function.Name).Path);
                    invokers.Add(new Invoker(new SnapshotService(copy)) { SampleHugePages = true });
                }
            }
            catch
            {
                invokers.ForEach(v => v.Dispose());
                Directory.Delete(root, recursive: true);
                throw;
            }
            return new SnapshotCopies(root, invokers);
        }

        public void Dispose()
        {
            foreach (var invoker in Invokers)
                invoker.Dispose();
            if (Directory.Exists(_root))
                Directory.Delete(_root, recursive: true);
        }
    }
}

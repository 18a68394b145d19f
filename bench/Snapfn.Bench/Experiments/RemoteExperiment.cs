using Snapfn.Bench.Inputs;
using Snapfn.Bench.Remote;
using Snapfn.Platform;
using Snapfn.Snapshots.Backends;

namespace Snapfn.Bench.Experiments;

/// <summary>
/// The paper's remote-storage experiment (E4): E1 with the snapshot's files on a network file system (sshfs over
/// this machine's loopback, <see cref="LoopbackRemoteStorage"/>), recorded with gap thresholds 0 as the artifact
/// does. Snapshots and recordings are made locally and copied to the storage's export; every restore reads them
/// through the mount, each mode's files dropped first on both sides (the client's page cache and the server's).
/// </summary>
public sealed class RemoteExperiment
{
    /// <summary>The modes whose storage matters: cached and faasnap-hot are memory already there.</summary>
    public static bool ReadsStorage(string mode) => RestoreModes.Get(mode) is IMemoryBackend && RestoreModes.Get(mode).RunsCold;

    private readonly BenchSetup _setup;

    public RemoteExperiment(BenchSetup setup)
    {
        ArgumentNullException.ThrowIfNull(setup);
        _setup = setup;
    }

    public List<BenchRun> Runs { get; } = [];

    public bool Partial { get; private set; }

    /// <summary>Why the storage could not be set up (the experiment then ran nothing); null when it ran.</summary>
    public string? Skipped { get; private set; }

    /// <summary>The storage's own latency and bandwidth, measured before the runs, beside the local disk's.</summary>
    public RemoteStorageMeasurement? Storage { get; private set; }

    public void Run(BenchOptions options, Action<BenchProgress> progress, CancellationToken cancel)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(progress);
        var bench = Path.Combine(_setup.Home.Path, "bench");
        var export = Path.Combine(bench, "remote-export");
        using var storage = LoopbackRemoteStorage.TrySetUp(bench, export, out var reason,
            s => progress(new BenchProgress("remote storage", s, 0, 1)), cancel);
        if (storage is null)
        {
            Skipped = reason;
            return;
        }
        var random = new Random(options.Seed);
        var testSet = Enum.Parse<InputSet>(options.TestInputSet);
        var total = options.Functions.Count * options.Repeat * options.Modes.Count;
        var done = 0;
        try
        {
            progress(new BenchProgress("remote storage", "measuring its latency and bandwidth", 0, total));
            Storage = storage.Measure(cancellationToken: cancel);
            var remoteHome = _setup.Home.WithFunctionsAt(storage.PathOf("functions"));
            using var invoker = new Invoker(new SnapshotService(remoteHome)) { SampleHugePages = true };
            foreach (var name in options.Functions)
            {
                cancel.ThrowIfCancellationRequested();
                var function = _setup.Catalog.Get(name);
                var inputA = WorkloadInputs.Get(_setup.Catalog, name, InputSet.A);
                var inputTest = WorkloadInputs.Get(_setup.Catalog, name, testSet);
                var snapshot = _setup.Prepare(function, options.Modes, inputA,
                    s => progress(new BenchProgress(name, s + " with input A", done, total)), options.FaasnapRecording);
                progress(new BenchProgress(name, "copying the snapshot to the remote storage", done, total));
                var exported = Path.Combine(export, "functions", name);
                SnapshotFiles.CopyTo(snapshot, exported);
                var remote = invoker.Snapshots.Open(function);
                for (var rep = 0; rep < options.Repeat; rep++)
                {
                    foreach (var mode in options.Modes.OrderBy(_ => random.Next()).ToList())
                    {
                        cancel.ThrowIfCancellationRequested();
                        progress(new BenchProgress(name, $"repetition {rep + 1}/{options.Repeat}: {mode}", done, total));
                        // The server's cache (the export, on this machine) first; the invocation drops the client's.
                        foreach (var file in ((IMemoryBackend)RestoreModes.Get(mode)).Files(remote))
                            storage.DropCache(file);
                        var result = invoker.Invoke(new InvocationRequest(function, mode, inputTest, Cold: true), _setup.VmOptions, CancellationToken.None);
                        Runs.Add(BenchRun.Of(result, options.TestInputSet, rep));
                        done++;
                    }
                }
                Directory.Delete(exported, recursive: true);
            }
        }
        catch (OperationCanceledException)
        {
            Partial = true;
        }
    }
}

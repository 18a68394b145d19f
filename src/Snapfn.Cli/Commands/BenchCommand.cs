using System.CommandLine;
using System.Globalization;
using Snapfn.Bench;
using Snapfn.Bench.Experiments;
using Snapfn.Bench.Inputs;
using Snapfn.Platform;
using Snapfn.Snapshots.Backends;
using Spectre.Console;

namespace Snapfn.Cli.Commands;

/// <summary>`snapfn bench`: the paper's comparison of restore modes on this machine, as a table, charts and JSON.</summary>
public static class BenchCommand
{
    public static IReadOnlyList<string> AllModes => Snapfn.Snapshots.Backends.RestoreModes.Names;

    /// <summary>The paper's twelve functions, in C (the native lower bound).</summary>
    public static readonly string[] PaperFunctions =
        ["hello-world", "read-list", "mmap", "image", "json", "aes", "html", "matmul", "video", "compression", "recognition", "pagerank"];

    /// <summary>`--quick`: functions with small working sets and short runs, so that the whole comparison (snapshots
    /// and recordings included) finishes in a few minutes here.</summary>
    public static readonly string[] QuickFunctions = ["hello-world", "json", "compression", "image", "pagerank"];

    /// <summary>The suites: the paper's functions in Python on the paper's libraries (py-NAME), in C, or those written in
    /// JavaScript on Debian's Node.js (node-NAME: hello-world and json, beside their Python and C forms).</summary>
    public static string[] Suite(string suite, bool quick) => suite switch
    {
        "python" => [.. (quick ? QuickFunctions : PaperFunctions).Select(f => WorkloadInputs.PythonPrefix + f)],
        "c" => quick ? QuickFunctions : PaperFunctions,
        "node" => [.. WorkloadInputs.NodeFunctions.Select(f => WorkloadInputs.NodePrefix + f)],
        _ => throw new UsageException($"--suite must be python, c or node, not '{suite}'"),
    };

    /// <summary>The paper's experiments: E1 (paper), E2 (drift), E3 (concurrency), E4 (remote); cluster (issue 23) and
    /// load (issue 21).</summary>
    public static readonly string[] Experiments = ["paper", "drift", "concurrency", "remote", "cluster", "load"];

    /// <summary>E3's functions: one small, one with a working set of tens of MB; --quick keeps the small one.</summary>
    private static readonly string[] _concurrencyFunctions = ["py-json", "py-image"];

    /// <summary>Repetitions with --quick: E1 keeps 3; the others run many more (input, mode) pairs per function.</summary>
    private static int QuickRepeat(string experiment) => experiment == "paper" ? 3 : 1;

    public static Command Create()
    {
        var functions = new Option<string?>("--functions") { Description = "comma-separated functions (default: the suite's twelve)" };
        var suite = new Option<string>("--suite") { Description = "python: the paper's functions in Python on its libraries; c: in C, the native lower bound; node: hello-world and json in JavaScript on Node.js", DefaultValueFactory = _ => "python" };
        var modes = new Option<string?>("--modes") { Description = $"comma-separated modes (default: {string.Join(",", AllModes)})" };
        var repeat = new Option<int?>("--repeat") { Description = "repetitions per function and mode (default 5; 3 with --quick)" };
        var inputSet = new Option<string>("--input-set") { Description = "the input invocations are tested with (B, as in the paper, or A)", DefaultValueFactory = _ => "B" };
        var quick = new Option<bool>("--quick") { Description = $"a subset that runs in a few minutes: {string.Join(", ", QuickFunctions)} of the suite, 3 repetitions (drift: json and image; concurrency: json; 1 repetition)" };
        var output = new Option<string?>("--out") { Description = "folder for results.json, report.md and the charts (default ./bench-results/<timestamp>)" };
        var json = new Option<bool>("--json") { Description = "print results.json to stdout as well" };
        var experiment = new Option<string>("--experiment")
        {
            Description = "paper: record with A, test with B (E1); drift: inputs of growing size (E2); concurrency: N cold invocations at once (E3); remote: the snapshot on a network file system (E4); cluster: three workers on NATS, one killed mid-burst (needs KVM and nats-server); load: 1, 8 and 32 clients on a daemon, no mode, the platform picking the path (needs KVM)",
            DefaultValueFactory = _ => "paper",
        };
        var readAhead = new Option<int?>("--read-ahead-kb")
        {
            Description = "run with the snapshots' disk read-ahead at N KiB (Linux's default is 128), then put the old value back (needs root)",
        };
        var fullMemory = new Option<bool>("--full-memory-file") { Description = "write the memory files' zero pages out (as Firecracker's full snapshots) instead of leaving holes; without it they are made sparse again" };
        var smallPages = new Option<bool>("--small-pages") { Description = "map guest memory and snapshot files with 4 KiB pages only (MADV_NOHUGEPAGE)" };
        var gap = new Option<int?>("--gap-pages") { Description = "faasnap recordings: merge loading-set pages closer than N pages (default 32; 0 for remote storage, as the paper)" };
        var scanMs = new Option<double?>("--scan-ms") { Description = "faasnap recordings: scan the page cache every N ms (default 2), or check the resident size that often with --scan-growth-kb" };
        var scanGrowth = new Option<int?>("--scan-growth-kb") { Description = "faasnap recordings: scan each time the resident size grew by N KiB (FaaSnap's daemon: 4096, checked every 4 ms); 0: a fixed interval" };
        var requests = new Option<int?>("--requests") { Description = $"cluster: requests in the burst (default {Bench.Cluster.ClusterSettings.FullRequests}; {Bench.Cluster.ClusterSettings.QuickRequests} with --quick)" };
        var command = new Command("bench", "run the FaaSnap paper's comparison of restore modes on this machine")
        {
            experiment, functions, suite, modes, repeat, inputSet, quick, output, json, readAhead, smallPages, fullMemory, gap, scanMs, scanGrowth, requests,
        };
        command.SetAction(parse =>
        {
            var isQuick = parse.GetValue(quick);
            var name = parse.GetValue(experiment)!;
            if (!Experiments.Contains(name))
                throw new UsageException($"--experiment must be {string.Join(", ", Experiments)}, not '{name}'");
            if (name == "cluster")
                return RunCluster(isQuick, parse.GetValue(requests), List(parse.GetValue(functions)), List(parse.GetValue(modes)), parse.GetValue(repeat),
                    parse.GetValue(output), parse.GetValue(json));
            if (name == "load")
                return RunLoad(isQuick, parse.GetValue(requests), List(parse.GetValue(functions)), List(parse.GetValue(modes)), parse.GetValue(repeat),
                    parse.GetValue(output), parse.GetValue(json));
            var suiteFunctions = Suite(parse.GetValue(suite)!, isQuick);
            var options = new BenchOptions
            {
                Functions = List(parse.GetValue(functions)) ?? name switch
                {
                    // --quick keeps the two ladders the artifact's figure shows first (json, image); pagerank's
                    // pure-Python graph build makes its top rung take seconds.
                    "drift" => isQuick ? [.. DriftExperiment.Eligible(suiteFunctions).Where(f => f.EndsWith("json", StringComparison.Ordinal) || f.EndsWith("image", StringComparison.Ordinal))]
                        : DriftExperiment.Eligible(suiteFunctions),
                    "concurrency" => isQuick ? _concurrencyFunctions[..1] : _concurrencyFunctions,
                    _ => suiteFunctions,
                },
                Modes = List(parse.GetValue(modes)) ?? name switch
                {
                    // Drift and concurrency compare restores; warm restores nothing.
                    "drift" or "concurrency" => [.. AllModes.Where(m => m != WarmMode.Name)],
                    // Remote storage matters only to the modes that read it.
                    "remote" => [.. AllModes.Where(RemoteExperiment.ReadsStorage)],
                    _ => AllModes,
                },
                Repeat = parse.GetValue(repeat) ?? (isQuick ? QuickRepeat(name) : 5),
                TestInputSet = parse.GetValue(inputSet)!.ToUpperInvariant(),
                // The artifact records for remote storage with gap thresholds 0.
                FaasnapRecording = RecordOptions(parse.GetValue(gap) ?? (name == "remote" ? 0 : null), parse.GetValue(scanMs), parse.GetValue(scanGrowth)),
            };
            Validate(options);
            // After the usage checks (a wrong command line is said first, on any machine). The load and cluster
            // experiments check the CPU themselves, after theirs: they run on the emulated CPU as labelled trials.
            Vmm.VirtualCpu.RequireKvmToMeasure("snapfn bench");
            var folder = parse.GetValue(output) ?? Path.Combine("bench-results", DateTime.Now.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture));
            // Written to a file or a pipe, the tables need not fit 80 columns (Spectre's guess without a terminal):
            // seven modes do not.
            if (Console.IsOutputRedirected)
                AnsiConsole.Profile.Width = Math.Max(AnsiConsole.Profile.Width, 160);
            using var machine = MachineSettings.Apply(SnapfnHome.Default(), parse.GetValue(readAhead), parse.GetValue(smallPages), parse.GetValue(fullMemory));
            return name switch
            {
                "drift" => RunDrift(options, folder, parse.GetValue(json)),
                "concurrency" => RunConcurrency(options, folder, parse.GetValue(json)),
                "remote" => RunRemote(options, folder, parse.GetValue(json)),
                _ => Run(options, folder, parse.GetValue(json)),
            };
        });
        return command;
    }

    private static int Run(BenchOptions options, string folder, bool json)
    {
        Directory.CreateDirectory(folder);
        using var setup = NewSetup();
        var experiment = new PaperExperiment(setup);
        WithProgress(options.Functions.Count * options.Repeat * options.Modes.Count, (progress, cancel) => experiment.Run(options, progress, cancel));
        var report = new Report(experiment.Runs, options.Functions, options.Modes, experiment.WorkingSets, MachineSettings.Facts(setup.Home));
        return WriteAndPrint(report, options, folder, json, experiment.Partial);
    }

    private static int RunRemote(BenchOptions options, string folder, bool json)
    {
        if (options.Modes.FirstOrDefault(m => !RemoteExperiment.ReadsStorage(m)) is { } local)
            throw new UsageException($"mode {local} reads no storage (its memory is already there); the remote experiment runs {string.Join(", ", AllModes.Where(RemoteExperiment.ReadsStorage))}");
        Directory.CreateDirectory(folder);
        using var setup = NewSetup();
        var experiment = new RemoteExperiment(setup);
        WithProgress(options.Functions.Count * options.Repeat * options.Modes.Count, (progress, cancel) => experiment.Run(options, progress, cancel));
        var report = new Report(experiment.Runs, options.Functions, options.Modes, machine: MachineSettings.Facts(setup.Home))
        {
            Title = "Snapfn benchmark: snapshots on remote storage (the paper's E4)",
            Experiment = "remote",
            Notes = experiment.Skipped is { } skipped
                ? [$"skipped: the remote storage could not be set up: {skipped}"]
                : experiment.Storage?.Lines() ?? [],
        };
        foreach (var note in report.Notes)
            AnsiConsole.WriteLine(note);
        // A machine that cannot serve the storage is not a failure of the bench: the report says why it ran nothing.
        return WriteAndPrint(report, options, folder, json, experiment.Partial);
    }

    private static int WriteAndPrint(Report report, BenchOptions options, string folder, bool json, bool partial)
    {
        var commandLine = CommandLine();
        var resultsPath = Path.Combine(folder, "results.json");
        report.WriteJson(resultsPath, options, commandLine, partial);
        File.WriteAllText(Path.Combine(folder, "report.md"), report.Markdown(options, commandLine, partial));
        if (report.Functions.Count > 0)
        {
            Charts.Times(report, Path.Combine(folder, "chart.png"));
            if (report.CanSummarise("vanilla") || report.CanSummarise("reap"))
                Charts.Ratios(report, Path.Combine(folder, "chart-ratio.png"));
        }
        PrintTable(report);
        foreach (var line in report.SummaryLines())
            AnsiConsole.WriteLine(line);
        return Finish(folder, resultsPath, json, partial);
    }

    private static int RunDrift(BenchOptions options, string folder, bool json)
    {
        RefuseWarm(options, "drift");
        var unfit = options.Functions.Where(f => !DriftLadder.Has(f)).ToList();
        if (unfit.Count > 0)
            throw new UsageException($"{string.Join(", ", unfit)}: no input ladder (their input size cannot vary); drift runs {string.Join(", ", DriftExperiment.Eligible(WorkloadInputs.Functions))}");
        Directory.CreateDirectory(folder);
        using var setup = NewSetup();
        var experiment = new DriftExperiment(setup);
        WithProgress(1, (progress, cancel) => experiment.Run(options, progress, cancel));
        var report = new DriftReport(experiment.Runs, options.Modes, MachineSettings.Facts(setup.Home));
        var resultsPath = ExperimentOutput.Write(report, folder, CommandLine(), experiment.Partial, options.Repeat);
        foreach (var f in report.Functions)
        {
            var table = new Table().Title($"{f}: median total time (ms); * recorded").Border(TableBorder.Simple).AddColumn(new TableColumn("input").NoWrap());
            foreach (var mode in report.Modes)
                table.AddColumn(new TableColumn(mode).RightAligned().NoWrap());
            foreach (var r in report.Rungs(f))
                table.AddRow([Markup.Escape(DriftReport.WithoutFunction(f, r.Input).Replace(" (other content)", " other", StringComparison.Ordinal) + (r.Recorded ? " *" : "")), .. report.Modes.Select(m => ReportFormat.Figure(report.MedianTotal(f, m, r.Rung), "0.00"))]);
            AnsiConsole.Write(table);
        }
        return Finish(folder, resultsPath, json, experiment.Partial);
    }

    private static Snapshots.Recording.FaasnapRecordOptions RecordOptions(int? gapPages, double? scanMs, int? scanGrowthKb)
    {
        var defaults = new Snapshots.Recording.FaasnapRecordOptions();
        if (gapPages < 0 || scanMs <= 0 || scanGrowthKb < 0)
            throw new UsageException("--gap-pages and --scan-growth-kb must be 0 or more, --scan-ms above 0");
        return defaults with
        {
            GapPages = gapPages is { } g ? (ulong)g : defaults.GapPages,
            ScanInterval = scanMs is { } ms ? TimeSpan.FromMilliseconds(ms) : defaults.ScanInterval,
            ScanGrowthBytes = scanGrowthKb is { } kb ? (ulong)kb << 10 : defaults.ScanGrowthBytes,
        };
    }

    private static int RunConcurrency(BenchOptions options, string folder, bool json)
    {
        RefuseWarm(options, "concurrency");
        Directory.CreateDirectory(folder);
        using var setup = NewSetup();
        var experiment = new ConcurrencyExperiment(setup);
        WithProgress(1, (progress, cancel) => experiment.Run(options, ConcurrencyExperiment.Levels, progress, cancel));
        var report = new ConcurrencyReport(experiment.Runs, options.Modes, MachineSettings.Facts(setup.Home));
        var resultsPath = ExperimentOutput.Write(report, folder, CommandLine(), experiment.Partial, options.Repeat);
        foreach (var f in report.Functions)
        {
            foreach (var target in Enum.GetValues<ConcurrencyTarget>())
            {
                var table = new Table().Title($"{f}, {ConcurrencyExperiment.Describe(target)}: invocations/s").Border(TableBorder.Simple).AddColumn("N");
                foreach (var mode in report.Modes)
                    table.AddColumn(new TableColumn(mode).RightAligned().NoWrap());
                foreach (var n in report.Levels)
                    table.AddRow([n.ToString(CultureInfo.InvariantCulture), .. report.Modes.Select(m => ReportFormat.Figure(report.Throughput(f, m, target, n), "0.0"))]);
                AnsiConsole.Write(table);
            }
        }
        return Finish(folder, resultsPath, json, experiment.Partial);
    }

    /// <summary>The cluster experiment (issue 23): it refuses on a machine without KVM before it starts anything (unless
    /// SNAPFN_CPU=soft asks for a trial on the emulated CPU, labelled so in everything it prints and writes), and
    /// on Ctrl-C or SIGTERM stops every process it started before it writes what it measured.</summary>
    private static int RunCluster(bool quick, int? requests, string[]? functions, string[]? modes, int? repeat, string? output, bool json)
    {
        Bench.Cluster.ClusterSettings settings;
        try
        {
            settings = Bench.Cluster.ClusterArguments.Parse(quick, requests, functions, modes, repeat);
        }
        catch (ArgumentException e)
        {
            throw new UsageException(e.Message);
        }
        var catalog = FunctionCatalog.Default();
        foreach (var f in settings.Functions)
        {
            catalog.Get(f);
            if (!WorkloadInputs.Has(catalog, f))
                throw new UsageException($"function '{f}' has no built-in input to invoke it with");
        }
        // Before the folder is made: without KVM, and without SNAPFN_CPU=soft chosen for a trial, nothing starts.
        Bench.Cluster.ClusterExperiment.RequireGuests();
        var folder = output ?? Bench.Cluster.ClusterArguments.DefaultFolder(DateTime.Now);
        Directory.CreateDirectory(folder);
        var home = SnapfnHome.Default();
        var experiment = new Bench.Cluster.ClusterExperiment(settings, Path.Combine(AppContext.BaseDirectory, "snapfn.dll"), catalog);
        // The workers' homes and the NATS stores go beside the results, and are deleted when the run ends.
        var run = RunWithScratch(folder, (scratch, stop) => experiment.RunAsync(scratch, home.Path, step => AnsiConsole.WriteLine(step), stop));
        var report = new Bench.Cluster.ClusterReport(run, MachineSettings.Facts(home));
        var resultsPath = ExperimentOutput.Write(report, folder, CommandLine(), experiment.Partial, repeat: 1);
        foreach (var line in report.SummaryLines())
            AnsiConsole.WriteLine(line);
        var code = Finish(folder, resultsPath, json, experiment.Partial);
        // Lost requests are the experiment's failure: the issue's check is `lost 0`.
        return code == 0 && report.Lost > 0 ? CliErrors.Failure : code;
    }

    /// <summary>The load experiment (issue 21): as the cluster experiment, it refuses on a machine without KVM before
    /// it starts anything, and on Ctrl-C or SIGTERM stops the daemon it started before it writes what it measured.</summary>
    private static int RunLoad(bool quick, int? requests, string[]? functions, string[]? modes, int? repeat, string? output, bool json)
    {
        Bench.Load.LoadSettings settings;
        try
        {
            settings = Bench.Load.LoadSettings.For(quick, functions, modes, repeat, requests);
        }
        catch (ArgumentException e)
        {
            throw new UsageException(e.Message);
        }
        // Before the folder is made: without KVM, and without SNAPFN_CPU=soft chosen for a trial, nothing starts.
        Bench.Load.LoadExperiment.RequireGuests();
        var folder = output ?? Bench.Load.LoadSettings.DefaultFolder(DateTime.Now);
        Directory.CreateDirectory(folder);
        var home = SnapfnHome.Default();
        var experiment = new Bench.Load.LoadExperiment(settings, Path.Combine(AppContext.BaseDirectory, "snapfn.dll"), FunctionCatalog.Default());
        var run = RunWithScratch(folder, (scratch, stop) => experiment.RunAsync(scratch, home.Path, step => AnsiConsole.WriteLine(step), stop));
        var report = new Bench.Load.LoadReport(run, MachineSettings.Facts(home));
        var resultsPath = ExperimentOutput.Write(report, folder, CommandLine(), experiment.Partial, repeat: 1);
        foreach (var line in report.SummaryLines())
            AnsiConsole.WriteLine(line);
        var code = Finish(folder, resultsPath, json, experiment.Partial);
        // A level stopped by its errors measured a broken daemon, not its load: the report says which errors.
        return code == 0 && run.Levels.Any(l => l.Requests.StoppedEarly is not null) ? CliErrors.Failure : code;
    }

    /// <summary>Runs an experiment that starts processes of its own (the cluster's workers, the load's daemon) with its
    /// scratch folder under the results folder, stopped by Ctrl-C or SIGTERM (<see cref="Bench.Cluster.ShutdownSignals"/>);
    /// the scratch folder is removed when the experiment left it empty.</summary>
    private static T RunWithScratch<T>(string folder, Func<string, CancellationToken, Task<T>> run)
    {
        var scratch = Path.Combine(folder, "scratch");
        using var signals = new Bench.Cluster.ShutdownSignals();
        try
        {
            return run(scratch, signals.Token).GetAwaiter().GetResult();
        }
        finally
        {
            if (Directory.Exists(scratch) && !Directory.EnumerateFileSystemEntries(scratch).Any())
                Directory.Delete(scratch);
        }
    }

    private static void RefuseWarm(BenchOptions options, string experiment)
    {
        if (options.Modes.Contains(WarmMode.Name))
            throw new UsageException($"the {experiment} experiment compares restore modes; warm restores nothing: leave it out of --modes");
    }

    private static string CommandLine() => "snapfn " + string.Join(' ', Environment.GetCommandLineArgs().Skip(1));

    private static int Finish(string folder, string resultsPath, bool json, bool partial)
    {
        if (partial)
            AnsiConsole.MarkupLine("[yellow]interrupted: partial results written[/]");
        AnsiConsole.WriteLine($"results in {Path.GetFullPath(folder)}");
        if (json)
            Console.Out.WriteLine(File.ReadAllText(resultsPath));
        return partial ? CliErrors.Failure : 0;
    }

    /// <summary>The machine settings a bench changes for its run (and puts back), and the facts it states.</summary>
    private static class MachineSettings
    {
        /// <summary>Memory files full (zeros written out) for this run's snapshots.</summary>
        public static bool FullMemoryFiles { get; private set; }

        public static IDisposable? Apply(SnapfnHome home, int? readAheadKb, bool smallPages, bool fullMemoryFiles)
        {
            // Process-wide and for this run only: the process ends with it.
            Vmm.MemoryMapping.SmallPagesOnly = smallPages;
            FullMemoryFiles = fullMemoryFiles;
            if (readAheadKb is not { } kb)
                return null;
            if (kb < 0)
                throw new UsageException("--read-ahead-kb must be 0 or more");
            var device = MachineEffects.DeviceOf(SnapshotsPath(home))
                ?? throw new UsageException($"the snapshots under {SnapshotsPath(home)} are not on a block device with a read-ahead setting; --read-ahead-kb cannot apply");
            return MachineEffects.SetReadAhead(device, kb);
        }

        public static MachineFacts Facts(SnapfnHome home) => MachineFacts.Now(SnapshotsPath(home), Vmm.MemoryMapping.SmallPagesOnly, FullMemoryFiles);

        private static string SnapshotsPath(SnapfnHome home) => home.FunctionsPath;
    }

    private static BenchSetup NewSetup() => new(FunctionCatalog.Default(), SnapfnHome.Default(), VmOptions.From(2048, 300) with { Log = null })
    {
        FullMemoryFiles = MachineSettings.FullMemoryFiles,
    };

    /// <summary>Runs <paramref name="run"/> under a progress bar; Ctrl-C cancels it between invocations, so that
    /// every run written is a whole one and what was measured is still written.</summary>
    private static void WithProgress(int steps, Action<Action<BenchProgress>, CancellationToken> run)
    {
        using var cancel = new CancellationTokenSource();
        ConsoleCancelEventHandler onCancel = (_, e) =>
        {
            e.Cancel = true;
            cancel.Cancel();
        };
        Console.CancelKeyPress += onCancel;
        try
        {
            AnsiConsole.Progress().AutoClear(true).Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
                .Start(ctx =>
                {
                    var task = ctx.AddTask("benchmark", maxValue: Math.Max(1, steps));
                    run(p =>
                    {
                        task.Description = Markup.Escape($"{p.Function}: {p.Step}");
                        task.MaxValue = Math.Max(1, p.Total);
                        task.Value = p.Done;
                    }, cancel.Token);
                    task.Value = task.MaxValue;
                });
        }
        finally
        {
            Console.CancelKeyPress -= onCancel;
        }
    }

    /// <summary>Two narrow tables rather than one wide one: times per mode, then faasnap's ratios (80 columns fit).</summary>
    private static void PrintTable(Report report)
    {
        var times = new Table().Title("median total time per invocation (ms)").Border(TableBorder.Simple).AddColumn(new TableColumn("function").NoWrap());
        foreach (var mode in report.Modes)
            times.AddColumn(new TableColumn(mode).RightAligned().NoWrap());
        foreach (var f in report.Functions)
            times.AddRow([Markup.Escape(f), .. report.Modes.Select(m => ReportFormat.Figure(report.MedianTotal(f, m), "0.00"))]);
        AnsiConsole.Write(times);

        var againsts = Report.Baselines.Where(report.CanSummarise).ToList();
        if (againsts.Count == 0)
            return;
        var ratios = new Table().Title("faasnap's time over each mode's (below 1: faasnap is faster)").Border(TableBorder.Simple).AddColumn(new TableColumn("function").NoWrap());
        foreach (var against in againsts)
            ratios.AddColumn(new TableColumn($"faasnap/{against}").RightAligned().NoWrap());
        foreach (var f in report.Functions)
            ratios.AddRow([Markup.Escape(f), .. againsts.Select(a => ReportFormat.Figure(report.Ratio(f, a), "0.000"))]);
        AnsiConsole.Write(ratios);
    }

    private static string[]? List(string? value) =>
        string.IsNullOrWhiteSpace(value) ? null : value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    private static void Validate(BenchOptions options)
    {
        var unknown = options.Modes.Where(m => !AllModes.Contains(m)).ToList();
        if (unknown.Count > 0)
            throw new UsageException($"unknown mode(s) {string.Join(", ", unknown)}; modes: {string.Join(", ", AllModes)}");
        if (options.Repeat < 1)
            throw new UsageException("--repeat must be at least 1");
        if (options.TestInputSet is not ("A" or "B"))
            throw new UsageException("--input-set must be A or B");
        var catalog = FunctionCatalog.Default();
        foreach (var f in options.Functions)
        {
            catalog.Get(f);
            if (!WorkloadInputs.Has(catalog, f))
                throw new UsageException($"function '{f}' has no built-in inputs A and B to benchmark with");
        }
    }
}

using System.CommandLine;
using System.Globalization;
using Snapfn.Bench;
using Snapfn.Bench.Experiments;
using Snapfn.Bench.Inputs;
using Snapfn.Platform;
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

    /// <summary>The suites: the paper's functions in Python on the paper's libraries (py-NAME), or in C.</summary>
    public static string[] Suite(string suite, bool quick) => suite switch
    {
        "python" => [.. (quick ? QuickFunctions : PaperFunctions).Select(f => WorkloadInputs.PythonPrefix + f)],
        "c" => quick ? QuickFunctions : PaperFunctions,
        _ => throw new UsageException($"--suite must be python or c, not '{suite}'"),
    };

    public static Command Create()
    {
        var functions = new Option<string?>("--functions") { Description = "comma-separated functions (default: the suite's twelve)" };
        var suite = new Option<string>("--suite") { Description = "python: the paper's functions in Python on its libraries; c: in C, the native lower bound", DefaultValueFactory = _ => "python" };
        var modes = new Option<string?>("--modes") { Description = $"comma-separated modes (default: {string.Join(",", AllModes)})" };
        var repeat = new Option<int?>("--repeat") { Description = "repetitions per function and mode (default 5; 3 with --quick)" };
        var inputSet = new Option<string>("--input-set") { Description = "the input invocations are tested with (B, as in the paper, or A)", DefaultValueFactory = _ => "B" };
        var quick = new Option<bool>("--quick") { Description = $"a subset that runs in a few minutes: {string.Join(", ", QuickFunctions)} of the suite, 3 repetitions" };
        var output = new Option<string?>("--out") { Description = "folder for results.json, report.md and the charts (default ./bench-results/<timestamp>)" };
        var json = new Option<bool>("--json") { Description = "print results.json to stdout as well" };
        var experiment = new Option<string>("--experiment")
        {
            Description = "paper: record with A, test with B (E1); drift: inputs of growing size (E2); concurrency: N cold invocations at once (E3); remote: the snapshot on a network file system (E4)",
            DefaultValueFactory = _ => "paper",
        };
        var command = new Command("bench", "run the FaaSnap paper's comparison of restore modes on this machine") { experiment, functions, suite, modes, repeat, inputSet, quick, output, json };
        command.SetAction(parse =>
        {
            var isQuick = parse.GetValue(quick);
            var options = new BenchOptions
            {
                Functions = List(parse.GetValue(functions)) ?? Suite(parse.GetValue(suite)!, isQuick),
                Modes = List(parse.GetValue(modes)) ?? AllModes,
                Repeat = parse.GetValue(repeat) ?? (isQuick ? 3 : 5),
                TestInputSet = parse.GetValue(inputSet)!.ToUpperInvariant(),
            };
            Validate(options);
            var folder = parse.GetValue(output) ?? Path.Combine("bench-results", DateTime.Now.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture));
            return parse.GetValue(experiment) switch
            {
                "paper" => Run(options, folder, parse.GetValue(json)),
                var other => throw new UsageException($"--experiment must be paper, drift, concurrency or remote, not '{other}'"),
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

        var report = new Report(experiment.Runs, options.Functions, options.Modes, experiment.WorkingSets);
        var commandLine = "snapfn " + string.Join(' ', Environment.GetCommandLineArgs().Skip(1));
        var resultsPath = Path.Combine(folder, "results.json");
        report.WriteJson(resultsPath, options, commandLine, experiment.Partial);
        File.WriteAllText(Path.Combine(folder, "report.md"), report.Markdown(options, commandLine, experiment.Partial));
        if (report.Functions.Count > 0)
        {
            Charts.Times(report, Path.Combine(folder, "chart.png"));
            if (report.CanSummarise("vanilla") || report.CanSummarise("reap"))
                Charts.Ratios(report, Path.Combine(folder, "chart-ratio.png"));
        }
        PrintTable(report);
        foreach (var line in report.SummaryLines())
            AnsiConsole.WriteLine(line);
        if (experiment.Partial)
            AnsiConsole.MarkupLine("[yellow]interrupted: partial results written[/]");
        AnsiConsole.WriteLine($"results in {Path.GetFullPath(folder)}");
        if (json)
            Console.Out.WriteLine(File.ReadAllText(resultsPath));
        return experiment.Partial ? CliErrors.Failure : 0;
    }

    private static BenchSetup NewSetup() => new(FunctionCatalog.Default(), SnapfnHome.Default(), VmOptions.From(2048, 300) with { Log = null });

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
        var times = new Table().Title("median total time per invocation (ms)").Border(TableBorder.Simple).AddColumn("function");
        foreach (var mode in report.Modes)
            times.AddColumn(new TableColumn(mode).RightAligned().NoWrap());
        foreach (var f in report.Functions)
            times.AddRow([Markup.Escape(f), .. report.Modes.Select(m => Format(report.MedianTotal(f, m), "0.00"))]);
        AnsiConsole.Write(times);

        var againsts = Report.Baselines.Where(report.CanSummarise).ToList();
        if (againsts.Count == 0)
            return;
        var ratios = new Table().Title("faasnap's time over each mode's (below 1: faasnap is faster)").Border(TableBorder.Simple).AddColumn("function");
        foreach (var against in againsts)
            ratios.AddColumn(new TableColumn($"faasnap/{against}").RightAligned().NoWrap());
        foreach (var f in report.Functions)
            ratios.AddRow([Markup.Escape(f), .. againsts.Select(a => Format(report.Ratio(f, a), "0.000"))]);
        AnsiConsole.Write(ratios);
    }

    private static string Format(double value, string format) =>
        double.IsFinite(value) ? value.ToString(format, CultureInfo.InvariantCulture) : "-";

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

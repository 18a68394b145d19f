using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Snapfn.Bench;

/// <summary>The experiment's summary: median total time per function and mode, and faasnap's ratios.</summary>
public sealed class Report
{
    /// <summary>The paper's figures (EuroSys'22, geometric means over its functions) that the summary stands next to.</summary>
    public static readonly (string Name, string Against, double Paper, string Text)[] PaperClaims =
    [
        ("speedup_vs_vanilla", "vanilla", 2.0, "faasnap speed-up over vanilla (Firecracker)"),
        ("speedup_vs_reap", "reap", 1.36, "faasnap speed-up over REAP"),
        ("slowdown_vs_cached", "cached", 1.035, "faasnap slowdown against cached"),
    ];

    /// <summary>The modes faasnap is compared against, in the order the paper discusses them.</summary>
    public static readonly string[] Baselines = ["vanilla", "reap", "cached"];

    public Report(IReadOnlyList<BenchRun> runs, IReadOnlyList<string> functions, IReadOnlyList<string> modes,
        IReadOnlyDictionary<string, WorkingSet>? workingSets = null, MachineFacts? machine = null)
    {
        Machine = machine ?? new MachineFacts(MachineFacts.Describe(), null, null, SmallPages: false);
        Runs = runs;
        Functions = functions.Where(f => runs.Any(r => r.Function == f)).ToList();
        Modes = modes;
        WorkingSets = workingSets ?? new Dictionary<string, WorkingSet>();
    }

    /// <summary>The report's heading (E1's by default; E4 reuses this report for its runs).</summary>
    public string Title { get; init; } = "Snapfn benchmark: the FaaSnap comparison on this machine";

    /// <summary>The experiment's name in results.json.</summary>
    public string Experiment { get; init; } = "paper";

    /// <summary>Lines stated beside the results (E4: the storage's measured latency and bandwidth).</summary>
    public IReadOnlyList<string> Notes { get; init; } = [];

    /// <summary>The machine and the settings the runs were made under.</summary>
    public MachineFacts Machine { get; }

    /// <summary>The pages one request with input A and with input B touched, per function (userfaultfd's count).</summary>
    public IReadOnlyDictionary<string, WorkingSet> WorkingSets { get; }

    public IReadOnlyList<BenchRun> Runs { get; }

    public IReadOnlyList<string> Functions { get; }

    public IReadOnlyList<string> Modes { get; }

    public double Median(string function, string mode, Func<BenchRun, double> metric) =>
        Stats.Median(Runs.Where(r => r.Function == function && r.Mode == mode).Select(metric));

    public double MedianTotal(string function, string mode) => Median(function, mode, r => r.TotalMs);

    /// <summary>faasnap's median total time over <paramref name="against"/>'s, for one function.</summary>
    public double Ratio(string function, string against) => MedianTotal(function, "faasnap") / MedianTotal(function, against);

    /// <summary>Geometric mean over functions of against/faasnap (a speed-up) or faasnap/cached (a slowdown).</summary>
    public double Summary(string against)
    {
        var ratios = Functions.Select(f => Ratio(f, against)).Where(double.IsFinite);
        var mean = Stats.GeometricMean(ratios);
        return against == "cached" ? mean : 1 / mean;
    }

    public bool CanSummarise(string against) => Modes.Contains("faasnap") && Modes.Contains(against);

    public IEnumerable<string> SummaryLines()
    {
        foreach (var (_, against, paper, text) in PaperClaims)
        {
            if (!CanSummarise(against))
                continue;
            var value = Summary(against);
            yield return against == "cached"
                ? string.Create(CultureInfo.InvariantCulture, $"{text}: {(value - 1) * 100:+0.0;-0.0} % (geomean; paper: +{(paper - 1) * 100:0.0} %)")
                : string.Create(CultureInfo.InvariantCulture, $"{text}: {value:0.00}x (geomean; paper: {paper:0.00}x)");
        }
    }

    public void WriteJson(string path, BenchOptions options, string commandLine, bool partial)
    {
        var document = new
        {
            options.Functions,
            options.Modes,
            options.Repeat,
            input_set = options.TestInputSet,
            faasnap_recording = options.FaasnapRecording.Describe(),
            notes = Notes,
            summary = PaperClaims.Where(c => CanSummarise(c.Against)).ToDictionary(c => c.Name, c => new { measured = Summary(c.Against), paper = c.Paper }),
            working_sets = WorkingSets.ToDictionary(w => w.Key, w => new { pages_a = w.Value.PagesA, pages_b = w.Value.PagesB, mb_a = w.Value.MegabytesA, mb_b = w.Value.MegabytesB }),
            runs = Runs,
        };
        ReportFormat.WriteJson(path, Experiment, commandLine, partial, Machine, document);
    }

    public string Markdown(BenchOptions options, string commandLine, bool partial)
    {
        ArgumentNullException.ThrowIfNull(options);
        var md = new StringBuilder();
        ReportFormat.Preamble(md, Title, commandLine, partial, Machine);
        md.AppendLine(CultureInfo.InvariantCulture, $"- {options.Repeat} repetitions, modes in shuffled order, tested with input {options.TestInputSet}, recorded with input A; snapshot files dropped from the page cache before every mode but cached and warm");
        md.AppendLine(CultureInfo.InvariantCulture, $"- faasnap's recordings: {options.FaasnapRecording.Describe()}");
        md.AppendLine();
        if (Notes.Count > 0)
        {
            md.AppendLine("```");
            foreach (var note in Notes)
                md.AppendLine(note);
            md.AppendLine("```");
            md.AppendLine();
        }
        var degraded = Runs.Where(r => r.Degraded is not null).ToList();
        if (degraded.Count > 0)
        {
            md.AppendLine(CultureInfo.InvariantCulture, $"**{degraded.Count} of {Runs.Count} runs were degraded** (they are in the medians; see \"Degraded runs\").");
            md.AppendLine();
        }
        md.AppendLine("## Median total time per invocation (ms)");
        md.AppendLine();
        md.AppendLine("| function | " + string.Join(" | ", Modes) + " |");
        md.AppendLine("|---|" + string.Concat(Modes.Select(_ => "---:|")));
        foreach (var f in Functions)
            md.AppendLine($"| {f} | " + string.Join(" | ", Modes.Select(m => ReportFormat.Figure(MedianTotal(f, m)))) + " |");
        md.AppendLine();
        var againsts = Baselines.Where(CanSummarise).ToList();
        if (againsts.Count > 0)
        {
            md.AppendLine("## faasnap's time as a fraction of each other mode's (lower is better for faasnap)");
            md.AppendLine();
            md.AppendLine("| function | " + string.Join(" | ", againsts.Select(a => $"faasnap/{a}")) + " |");
            md.AppendLine("|---|" + string.Concat(againsts.Select(_ => "---:|")));
            foreach (var f in Functions)
                md.AppendLine($"| {f} | " + string.Join(" | ", againsts.Select(a => ReportFormat.Figure(Ratio(f, a), "0.000"))) + " |");
            md.AppendLine();
            md.AppendLine("## Summary");
            md.AppendLine();
            foreach (var line in SummaryLines())
                md.AppendLine($"- {line}");
            md.AppendLine();
        }
        if (WorkingSets.Count > 0)
        {
            md.AppendLine("## Working sets: the pages one request touched (userfaultfd, as REAP records), MB");
            md.AppendLine();
            md.AppendLine("The paper's functions touch 11.8 MB (hello-world) to 234 MB.");
            md.AppendLine();
            md.AppendLine("| function | input A | input B |");
            md.AppendLine("|---|---:|---:|");
            foreach (var f in Functions.Where(WorkingSets.ContainsKey))
                md.AppendLine($"| {f} | {ReportFormat.Figure(WorkingSets[f].MegabytesA, "0.0")} | {ReportFormat.Figure(WorkingSets[f].MegabytesB, "0.0")} |");
            md.AppendLine();
        }
        md.AppendLine("## Median restore and execute time (ms), and mode counters");
        md.AppendLine();
        md.AppendLine("| function | mode | restore | execute | counters (median) |");
        md.AppendLine("|---|---|---:|---:|---|");
        foreach (var f in Functions)
        {
            foreach (var m in Modes)
            {
                var runs = Runs.Where(r => r.Function == f && r.Mode == m).ToList();
                if (runs.Count == 0)
                    continue;
                var counters = runs.SelectMany(r => r.Counters.Keys).Distinct()
                    .Select(k => $"{k}={ReportFormat.Figure(Stats.Median(runs.Select(r => r.Counters.GetValueOrDefault(k))), "0.#")}")
                    .Concat(runs.Any(r => r.FilePmdMappedKb is not null)
                        ? [$"file_pmd_mapped_kb={ReportFormat.Figure(Stats.Median(runs.Select(r => (double)(r.FilePmdMappedKb ?? 0))), "0")}"]
                        : []);
                md.AppendLine($"| {f} | {m} | {ReportFormat.Figure(Median(f, m, r => r.RestoreMs))} | {ReportFormat.Figure(Median(f, m, r => r.ExecuteMs))} | {string.Join(", ", counters)} |");
            }
        }
        md.AppendLine();
        if (degraded.Count > 0)
        {
            md.AppendLine("## Degraded runs: not what their mode claims");
            md.AppendLine();
            md.AppendLine("| function | mode | repetition | why |");
            md.AppendLine("|---|---|---:|---|");
            foreach (var r in degraded)
                md.AppendLine(CultureInfo.InvariantCulture, $"| {r.Function} | {r.Mode} | {r.Repetition} | {r.Degraded} |");
            md.AppendLine();
        }
        md.AppendLine("Charts: `chart.png` (median total time per function and mode, log scale) and `chart-ratio.png` (faasnap's speed-up per function).");
        return md.ToString();
    }

}

/// <summary>A function's working set with inputs A and B, in 4 KiB pages.</summary>
public sealed record WorkingSet(ulong PagesA, ulong PagesB)
{
    public double MegabytesA => PagesA * 4096 / 1e6;

    public double MegabytesB => PagesB * 4096 / 1e6;
}

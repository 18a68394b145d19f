using System.Globalization;
using System.Text;
using System.Text.Json;
using ScottPlot;

namespace Snapfn.Bench.Experiments;

/// <summary>E2's results: per function, each mode's median time at each rung of the ladder, and how much each
/// mode slows down away from the recorded input.</summary>
public sealed class DriftReport : IExperimentReport
{
    public DriftReport(IReadOnlyList<DriftRun> runs, IReadOnlyList<string> modes, MachineFacts machine)
    {
        ArgumentNullException.ThrowIfNull(runs);
        Runs = runs;
        Modes = modes;
        Machine = machine;
        Functions = [.. runs.Select(r => r.Function).Distinct()];
    }

    public IReadOnlyList<DriftRun> Runs { get; }

    public IReadOnlyList<string> Modes { get; }

    public IReadOnlyList<string> Functions { get; }

    public MachineFacts Machine { get; }

    /// <summary>The rungs of <paramref name="function"/> that ran, in ladder order.</summary>
    public IReadOnlyList<(int Rung, string Input, double Size, bool Recorded, bool OtherContent)> Rungs(string function) =>
        [.. Runs.Where(r => r.Function == function).Select(r => (r.Rung, r.Input, r.Size, r.Recorded, r.OtherContent)).Distinct().OrderBy(r => r.Rung)];

    public double MedianTotal(string function, string mode, int rung) =>
        Stats.Median(Runs.Where(r => r.Function == function && r.Mode == mode && r.Rung == rung).Select(r => r.TotalMs));

    /// <summary>The mode's median time at the largest rung over its time at the recorded rung: how it copes with
    /// a working set that grew past the recording.</summary>
    public double Growth(string function, string mode)
    {
        var rungs = Rungs(function);
        var recorded = rungs.FirstOrDefault(r => r.Recorded);
        var largest = rungs.Where(r => !r.OtherContent).OrderBy(r => r.Size).LastOrDefault();
        return rungs.Count == 0 ? double.NaN : MedianTotal(function, mode, largest.Rung) / MedianTotal(function, mode, recorded.Rung);
    }

    public void WriteJson(string path, string commandLine, bool interrupted, int repeat)
    {
        var document = new
        {
            modes = Modes,
            repeat,
            medians = Functions.ToDictionary(f => f, f => Rungs(f).Select(r => new
            {
                rung = r.Rung,
                input = r.Input,
                size = r.Size,
                recorded = r.Recorded,
                other_content = r.OtherContent,
                total_ms = Modes.ToDictionary(m => m, m => ReportFormat.Finite(MedianTotal(f, m, r.Rung))),
            })),
            runs = Runs,
        };
        ReportFormat.WriteJson(path, "drift", commandLine, interrupted, Machine, document);
    }

    public string Markdown(string commandLine, bool interrupted, int repeat)
    {
        var md = new StringBuilder();
        ReportFormat.Preamble(md, "Snapfn benchmark: working-set change (the paper's E2)", commandLine, interrupted, Machine);
        md.AppendLine(CultureInfo.InvariantCulture, $"- {repeat} repetitions; recorded with the rung marked *, tested with every rung; (rung, mode) pairs in shuffled order; each mode's files dropped from the page cache first except for the modes whose point is that they are cached");
        md.AppendLine();
        foreach (var f in Functions)
        {
            md.AppendLine(CultureInfo.InvariantCulture, $"## {f}: median total time (ms)");
            md.AppendLine();
            md.AppendLine("| input | " + string.Join(" | ", Modes) + " |");
            md.AppendLine("|---|" + string.Concat(Modes.Select(_ => "---:|")));
            foreach (var r in Rungs(f))
                md.AppendLine($"| {WithoutFunction(f, r.Input)}{(r.Recorded ? " *" : "")} | " + string.Join(" | ", Modes.Select(m => ReportFormat.Figure(MedianTotal(f, m, r.Rung)))) + " |");
            md.AppendLine("| largest / recorded | " + string.Join(" | ", Modes.Select(m => ReportFormat.Figure(Growth(f, m), "0.00") + "x")) + " |");
            md.AppendLine();
        }
        var degraded = Runs.Where(r => r.Degraded is not null).ToList();
        if (degraded.Count > 0)
        {
            md.AppendLine("## Degraded runs: not what their mode claims");
            md.AppendLine();
            foreach (var r in degraded)
                md.AppendLine(CultureInfo.InvariantCulture, $"- {r.Function} {r.Mode} {r.Input} (repetition {r.Repetition}): {r.Degraded}");
            md.AppendLine();
        }
        md.AppendLine("Charts: `chart-<function>.png`, each mode's median time against the input's size.");
        return md.ToString();
    }

    /// <summary>One chart per function: a line per mode, time against input size, the recorded size marked.</summary>
    public void WriteCharts(string folder)
    {
        foreach (var f in Functions)
        {
            var plot = new Plot();
            foreach (var mode in Modes)
            {
                var points = Rungs(f).Where(r => !r.OtherContent).Select(r => (r.Size, Ms: MedianTotal(f, mode, r.Rung)))
                    .Where(p => double.IsFinite(p.Ms)).ToArray();
                if (points.Length == 0)
                    continue;
                var line = plot.Add.Scatter(points.Select(p => p.Size).ToArray(), points.Select(p => p.Ms).ToArray());
                line.LegendText = mode;
            }
            var recorded = Rungs(f).FirstOrDefault(r => r.Recorded);
            plot.Add.VerticalLine(recorded.Size, 1, Colors.Gray, LinePattern.Dashed).LegendText = "recorded";
            plot.Axes.Bottom.Label.Text = $"input size ({Runs.First(r => r.Function == f).Unit})";
            plot.Axes.Left.Label.Text = "median total time (ms)";
            plot.ShowLegend(Edge.Right);
            plot.Title($"{f}: working-set change");
            var path = Path.Combine(folder, $"chart-{f}.png");
            plot.SavePng(path, 800, 480);
        }
    }

    /// <summary>A rung's label without the function's name, which the table's title says already.</summary>
    public static string WithoutFunction(string function, string label) =>
        label.StartsWith(function + " ", StringComparison.Ordinal) ? label[(function.Length + 1)..] : label;


}

using System.Globalization;
using System.Text;
using System.Text.Json;
using ScottPlot;

namespace Snapfn.Bench.Experiments;

/// <summary>E3's results: per function, target and N, each mode's throughput (invocations a second over a burst)
/// and its latency percentiles; and where the two cores, rather than the disk, are the limit.</summary>
public sealed class ConcurrencyReport : IExperimentReport
{
    public ConcurrencyReport(IReadOnlyList<ConcurrencyRun> runs, IReadOnlyList<string> modes, MachineFacts machine)
    {
        ArgumentNullException.ThrowIfNull(runs);
        Runs = runs;
        Modes = modes;
        Machine = machine;
        Functions = [.. runs.Select(r => r.Function).Distinct()];
        Levels = [.. runs.Select(r => r.Concurrency).Distinct().Order()];
    }

    public IReadOnlyList<ConcurrencyRun> Runs { get; }

    public IReadOnlyList<string> Modes { get; }

    public IReadOnlyList<string> Functions { get; }

    public IReadOnlyList<int> Levels { get; }

    public MachineFacts Machine { get; }

    private IEnumerable<ConcurrencyRun> Of(string function, string mode, ConcurrencyTarget target, int n) =>
        Runs.Where(r => r.Function == function && r.Mode == mode && r.Target == target && r.Concurrency == n);

    /// <summary>Median over bursts of N / the burst's wall time, in invocations a second.</summary>
    public double Throughput(string function, string mode, ConcurrencyTarget target, int n) =>
        Stats.Median(Of(function, mode, target, n).GroupBy(r => r.Repetition).Select(b => n / (b.First().BurstMs / 1000)));

    public double Percentile(string function, string mode, ConcurrencyTarget target, int n, double p) =>
        Stats.Percentile(Of(function, mode, target, n).Select(r => r.TotalMs), p);

    /// <summary>How much longer the guest's own execution took at the highest N than alone, in a mode that reads no
    /// disk (cached, else the fastest mode): with more vCPUs than cores, this is the CPU's share of the slowdown.</summary>
    public (string Mode, double Factor)? CpuLimit(string function)
    {
        if (Modes.Count == 0 || Levels.Count < 2)
            return null;
        var mode = Modes.Contains("cached") ? "cached" : Modes[0];
        double Execute(int n) => Stats.Median(Of(function, mode, ConcurrencyTarget.OneSnapshot, n).Select(r => r.ExecuteMs));
        return (mode, Execute(Levels[^1]) / Execute(Levels[0]));
    }

    public void WriteJson(string path, string commandLine, bool interrupted, int repeat)
    {
        var document = new
        {
            modes = Modes,
            levels = Levels,
            repeat,
            summary = Functions.ToDictionary(f => f, f => Enum.GetValues<ConcurrencyTarget>().ToDictionary(t => t.ToString(), t => Levels.Select(n => new
            {
                concurrency = n,
                modes = Modes.ToDictionary(m => m, m => new
                {
                    throughput_per_s = ReportFormat.Finite(Throughput(f, m, t, n)),
                    p50_ms = ReportFormat.Finite(Percentile(f, m, t, n, 50)),
                    p99_ms = ReportFormat.Finite(Percentile(f, m, t, n, 99)),
                }),
            }))),
            runs = Runs,
        };
        ReportFormat.WriteJson(path, "concurrency", commandLine, interrupted, Machine, document);
    }

    public string Markdown(string commandLine, bool interrupted, int repeat)
    {
        var md = new StringBuilder();
        ReportFormat.Preamble(md, "Snapfn benchmark: concurrent restores (the paper's E3)", commandLine, interrupted, Machine);
        md.AppendLine(CultureInfo.InvariantCulture, $"- {repeat} bursts per (N, mode, target), in shuffled order; recorded with input A, tested with B; the burst's files dropped from the page cache once before it (cached and faasnap-hot: loaded instead); one snapshot: its restores share the page cache, FaaSnap's loader and REAP's working-set read; N copies: nothing shared");
        md.AppendLine();
        foreach (var f in Functions)
        {
            foreach (var target in Enum.GetValues<ConcurrencyTarget>())
            {
                md.AppendLine(CultureInfo.InvariantCulture, $"## {f}, {ConcurrencyExperiment.Describe(target)}: throughput (invocations/s) and p50 / p99 latency (ms)");
                md.AppendLine();
                md.AppendLine("| N | " + string.Join(" | ", Modes) + " |");
                md.AppendLine("|---:|" + string.Concat(Modes.Select(_ => "---:|")));
                foreach (var n in Levels)
                {
                    var cells = Modes.Select(m =>
                        $"{ReportFormat.Figure(Throughput(f, m, target, n), "0.0")}/s, {ReportFormat.Figure(Percentile(f, m, target, n, 50), "0.0")} / {ReportFormat.Figure(Percentile(f, m, target, n, 99), "0.0")}");
                    md.AppendLine(CultureInfo.InvariantCulture, $"| {n} | {string.Join(" | ", cells)} |");
                }
                md.AppendLine();
            }
            if (CpuLimit(f) is { } limit && double.IsFinite(limit.Factor))
            {
                md.AppendLine(string.Create(CultureInfo.InvariantCulture,
                    $"CPU, not disk: in {limit.Mode} (no disk reads) the guest's execution took {limit.Factor:0.0}x as long at N = {Levels[^1]} as alone, on {Environment.ProcessorCount} cores. Beyond N = {Environment.ProcessorCount} the vCPUs queue for the cores, so every mode's latency grows by about that much whatever its storage does; differences between modes at high N are what is left after that."));
                md.AppendLine();
            }
        }
        var degraded = Runs.Where(r => r.Degraded is not null).ToList();
        if (degraded.Count > 0)
        {
            md.AppendLine(CultureInfo.InvariantCulture, $"## Degraded runs: {degraded.Count}");
            md.AppendLine();
            foreach (var r in degraded.Take(20))
                md.AppendLine(CultureInfo.InvariantCulture, $"- {r.Function} {r.Mode} N={r.Concurrency} {ConcurrencyExperiment.Describe(r.Target)}: {r.Degraded}");
            md.AppendLine();
        }
        md.AppendLine("Charts: `chart-<function>.png`, each mode's throughput against N, one snapshot (solid) and N copies (dashed).");
        return md.ToString();
    }

    public void WriteCharts(string folder)
    {
        foreach (var f in Functions)
        {
            var plot = new Plot();
            foreach (var mode in Modes)
            {
                foreach (var target in Enum.GetValues<ConcurrencyTarget>())
                {
                    var points = Levels.Select(n => (N: (double)n, T: Throughput(f, mode, target, n))).Where(p => double.IsFinite(p.T)).ToArray();
                    if (points.Length == 0)
                        continue;
                    var line = plot.Add.Scatter(points.Select(p => p.N).ToArray(), points.Select(p => p.T).ToArray());
                    line.LegendText = $"{mode}, {ConcurrencyExperiment.Describe(target)}";
                    if (target == ConcurrencyTarget.Copies)
                        line.LinePattern = LinePattern.Dashed;
                }
            }
            plot.Axes.Bottom.Label.Text = "concurrent invocations (N)";
            plot.Axes.Left.Label.Text = "throughput (invocations/s)";
            plot.ShowLegend(Edge.Right);
            plot.Title($"{f}: concurrent restores");
            plot.SavePng(Path.Combine(folder, $"chart-{f}.png"), 900, 480);
        }
    }


}

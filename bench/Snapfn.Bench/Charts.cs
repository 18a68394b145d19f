using ScottPlot;

namespace Snapfn.Bench;

/// <summary>The two pictures: grouped bars per function (one per mode, like the paper's figure) and faasnap's speed-ups.</summary>
public static class Charts
{
    private static readonly Color[] _palette =
    [
        Colors.SeaGreen, Colors.SteelBlue, Colors.Gray, Colors.DarkOrange, Colors.Crimson, Colors.MediumPurple,
    ];

    /// <summary>Median total time, on a log scale because functions differ by orders of magnitude.</summary>
    public static void Times(Report report, string path)
    {
        ArgumentNullException.ThrowIfNull(report);
        var plot = new Plot();
        var groupWidth = report.Modes.Count + 1.0;
        var bars = new List<Bar>();
        for (var f = 0; f < report.Functions.Count; f++)
        {
            for (var m = 0; m < report.Modes.Count; m++)
            {
                var ms = report.MedianTotal(report.Functions[f], report.Modes[m]);
                if (!double.IsFinite(ms) || ms <= 0)
                    continue;
                // Bars start at 0.1 ms (log10 = -1) so that sub-millisecond warm calls still show.
                bars.Add(new Bar { Position = f * groupWidth + m, ValueBase = -1, Value = Math.Log10(ms), FillColor = _palette[m % _palette.Length] });
            }
        }
        plot.Add.Bars(bars);
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(
            report.Functions.Select((_, f) => f * groupWidth + (report.Modes.Count - 1) / 2.0).ToArray(), report.Functions.ToArray());
        plot.Axes.Bottom.TickLabelStyle.Rotation = 30;
        plot.Axes.Bottom.TickLabelStyle.Alignment = Alignment.MiddleLeft;
        // Room for the rotated function names, which the automatic layout would clip.
        plot.Axes.Bottom.MinimumSize = 90;
        var decades = Enumerable.Range(-1, 7).Select(d => (double)d).ToArray();
        plot.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericManual(decades,
            decades.Select(d => Math.Pow(10, d).ToString("0.#", System.Globalization.CultureInfo.InvariantCulture)).ToArray());
        plot.Axes.Left.Label.Text = "median total time (ms, log scale)";
        plot.Axes.SetLimitsY(-1, Math.Max(1, bars.Count == 0 ? 1 : bars.Max(b => b.Value) + 0.3));
        for (var m = 0; m < report.Modes.Count; m++)
            plot.Legend.ManualItems.Add(new LegendItem { LabelText = report.Modes[m], FillColor = _palette[m % _palette.Length] });
        plot.ShowLegend(Edge.Right);
        plot.Title("Snapfn: invocation time per function and restore mode");
        plot.SavePng(path, Math.Max(900, 110 * report.Functions.Count + 250), 520);
    }

    /// <summary>faasnap's speed-up over vanilla and REAP per function (1 = no gain).</summary>
    public static void Ratios(Report report, string path)
    {
        ArgumentNullException.ThrowIfNull(report);
        var againsts = Report.Baselines.Where(report.CanSummarise).ToList();
        var plot = new Plot();
        var bars = new List<Bar>();
        var groupWidth = againsts.Count + 1.0;
        for (var f = 0; f < report.Functions.Count; f++)
        {
            for (var a = 0; a < againsts.Count; a++)
            {
                var speedup = 1 / report.Ratio(report.Functions[f], againsts[a]);
                if (double.IsFinite(speedup))
                    bars.Add(new Bar { Position = f * groupWidth + a, Value = speedup, FillColor = _palette[(a + 2) % _palette.Length] });
            }
        }
        plot.Add.Bars(bars);
        plot.Add.HorizontalLine(1, 1, Colors.Black, LinePattern.Dashed);
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(
            report.Functions.Select((_, f) => f * groupWidth + (againsts.Count - 1) / 2.0).ToArray(), report.Functions.ToArray());
        plot.Axes.Bottom.TickLabelStyle.Rotation = 30;
        plot.Axes.Bottom.TickLabelStyle.Alignment = Alignment.MiddleLeft;
        // Room for the rotated function names, which the automatic layout would clip.
        plot.Axes.Bottom.MinimumSize = 90;
        plot.Axes.Left.Label.Text = "speed-up of faasnap (other mode's time / faasnap's)";
        plot.Axes.SetLimitsY(0, Math.Max(2, bars.Count == 0 ? 2 : bars.Max(b => b.Value) * 1.1));
        for (var a = 0; a < againsts.Count; a++)
            plot.Legend.ManualItems.Add(new LegendItem { LabelText = $"vs {againsts[a]}", FillColor = _palette[(a + 2) % _palette.Length] });
        plot.ShowLegend(Edge.Right);
        plot.Title("faasnap's speed-up per function");
        plot.SavePng(path, Math.Max(900, 90 * report.Functions.Count + 250), 480);
    }
}

namespace Snapfn.Bench.Tests;

/// <summary>
/// The summary's maths on synthetic runs, worked out by hand. Medians of total_ms:
///
/// | function | faasnap      | vanilla      | reap | cached          |
/// |----------|--------------|--------------|------|-----------------|
/// | f1       | 30,10,20: 20 | 80,40: 60    | 25   | 16,100,10: 16   |
/// | f2       | 5            | 60           | 25   | 4               |
/// | f3       | (none)       | 7            |      |                 |
///
/// faasnap/vanilla: 1/3 and 1/12, geomean 1/6, speed-up 6; faasnap/reap: 0.8 and 0.2, geomean 0.4, speed-up
/// 2.5; faasnap/cached: 1.25 and 1.25, slowdown 1.25. f3 has no faasnap run: its ratio is NaN and left out.
/// </summary>
public sealed class ReportTests
{
    private static readonly string[] _modes = ["vanilla", "reap", "cached", "faasnap"];

    private static readonly BenchRun[] _runs =
    [
        .. Runs("f1", "faasnap", 30, 10, 20),
        .. Runs("f1", "vanilla", 80, 40),
        .. Runs("f1", "reap", 25),
        .. Runs("f1", "cached", 16, 100, 10),
        .. Runs("f2", "faasnap", 5),
        .. Runs("f2", "vanilla", 60),
        .. Runs("f2", "reap", 25),
        .. Runs("f2", "cached", 4),
        .. Runs("f3", "vanilla", 7),
    ];

    private static IEnumerable<BenchRun> Runs(string function, string mode, params double[] totals) =>
        totals.Select((total, i) => new BenchRun(function, mode, "B", i, RestoreMs: total / 4, ExecuteMs: total * 3 / 4, TotalMs: total,
            CachedPagesBefore: 0, Counters: new Dictionary<string, double>()));

    private static Report Report(IReadOnlyList<string>? modes = null) => new(_runs, ["f1", "f2", "f3", "f-without-runs"], modes ?? _modes);

    [Fact]
    public void Functions_without_runs_are_left_out()
    {
        Assert.Equal(["f1", "f2", "f3"], Report().Functions);
    }

    [Theory]
    [InlineData("f1", "faasnap", 20)]
    [InlineData("f1", "vanilla", 60)]
    [InlineData("f1", "reap", 25)]
    [InlineData("f1", "cached", 16)]
    [InlineData("f2", "faasnap", 5)]
    public void Median_total_is_per_function_and_mode(string function, string mode, double expected)
    {
        Assert.Equal(expected, Report().MedianTotal(function, mode));
    }

    [Fact]
    public void Median_takes_the_metric_it_is_given()
    {
        Assert.Equal(15, Report().Median("f1", "vanilla", r => r.RestoreMs));
        Assert.Equal(45, Report().Median("f1", "vanilla", r => r.ExecuteMs));
    }

    [Theory]
    [InlineData("f1", "vanilla", 1.0 / 3)]
    [InlineData("f2", "vanilla", 1.0 / 12)]
    [InlineData("f1", "reap", 0.8)]
    [InlineData("f2", "reap", 0.2)]
    [InlineData("f1", "cached", 1.25)]
    [InlineData("f2", "cached", 1.25)]
    public void Ratio_is_faasnap_over_the_other_mode(string function, string against, double expected)
    {
        Assert.Equal(expected, Report().Ratio(function, against), 12);
    }

    [Fact]
    public void A_function_without_faasnap_runs_has_no_ratio()
    {
        Assert.True(double.IsNaN(Report().Ratio("f3", "vanilla")));
    }

    [Theory]
    [InlineData("vanilla", 6)]
    [InlineData("reap", 2.5)]
    [InlineData("cached", 1.25)]
    public void Summary_is_the_geomean_speed_up_or_for_cached_the_slowdown(string against, double expected)
    {
        Assert.Equal(expected, Report().Summary(against), 12);
    }

    [Fact]
    public void Summary_lines_give_the_measured_and_the_papers_figures()
    {
        Assert.Equal(
        [
            "faasnap speed-up over vanilla (Firecracker): 6.00x (geomean; paper: 2.00x)",
            "faasnap speed-up over REAP: 2.50x (geomean; paper: 1.36x)",
            "faasnap slowdown against cached: +25.0 % (geomean; paper: +3.5 %)",
        ], Report().SummaryLines());
    }

    [Fact]
    public void Only_modes_that_ran_are_summarised()
    {
        var report = Report(["vanilla", "faasnap"]);
        Assert.True(report.CanSummarise("vanilla"));
        Assert.False(report.CanSummarise("reap"));
        Assert.False(Report(["vanilla", "reap", "cached"]).CanSummarise("vanilla"));
        Assert.Equal(["faasnap speed-up over vanilla (Firecracker): 6.00x (geomean; paper: 2.00x)"], report.SummaryLines());
    }
}

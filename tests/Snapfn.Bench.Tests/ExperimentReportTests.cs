using Snapfn.Bench.Experiments;

namespace Snapfn.Bench.Tests;

/// <summary>E2's and E3's figures on synthetic runs, worked out by hand.</summary>
public sealed class ExperimentReportTests
{
    private static readonly MachineFacts _machine = new("test machine", null, null, SmallPages: false);

    private static DriftRun Drift(string mode, int rung, double size, double total, bool recorded = false, bool other = false, int rep = 0) =>
        new("f", mode, rung, $"f {size}", size, "bytes", recorded, other, rep, total / 2, total / 2, total, new Dictionary<string, double>(), null, null);

    /// <summary>
    /// Rungs 0..2 of sizes 1, 2, 4 (2 recorded) and rung 3, the recorded size with other content. reap's medians:
    /// 10, 20 (of 15, 25), 40; the other-content rung is 50 but is not the largest input: growth = 40 / 20 = 2.
    /// </summary>
    [Fact]
    public void Drift_growth_is_the_largest_rung_over_the_recorded_one_leaving_out_other_content()
    {
        DriftRun[] runs =
        [
            Drift("reap", 0, 1, 10),
            Drift("reap", 1, 2, 15, recorded: true), Drift("reap", 1, 2, 25, recorded: true, rep: 1),
            Drift("reap", 2, 4, 40),
            Drift("reap", 3, 2, 50, other: true),
        ];
        var report = new DriftReport(runs, ["reap"], _machine);
        Assert.Equal(20, report.MedianTotal("f", "reap", 1));
        Assert.Equal(2, report.Growth("f", "reap"));
        Assert.Equal([0, 1, 2, 3], report.Rungs("f").Select(r => r.Rung));
        Assert.True(double.IsNaN(report.Growth("f", "vanilla")));
    }

    [Fact]
    public void A_rung_label_loses_the_function_name_the_table_already_says()
    {
        Assert.Equal("600 KB", DriftReport.WithoutFunction("py-json", "py-json 600 KB"));
        Assert.Equal("json 600 KB", DriftReport.WithoutFunction("py-json", "json 600 KB"));
    }

    private static IEnumerable<ConcurrencyRun> Burst(int n, int rep, double burstMs, params double[] totals) =>
        totals.Select(t => new ConcurrencyRun("f", "faasnap", ConcurrencyTarget.OneSnapshot, n, rep, t / 2, t / 2, t, burstMs,
            new Dictionary<string, double>(), null));

    /// <summary>
    /// N = 2: bursts of 100 ms and 400 ms are 20/s and 5/s, median 12.5/s. Latencies 10, 30, 50, 70: p50 is the
    /// second (30), p99 the fourth (70).
    /// </summary>
    [Fact]
    public void Concurrency_throughput_is_the_median_over_bursts_of_n_over_the_burst_time()
    {
        ConcurrencyRun[] runs = [.. Burst(2, 0, 100, 10, 30), .. Burst(2, 1, 400, 50, 70), .. Burst(1, 0, 50, 50)];
        var report = new ConcurrencyReport(runs, ["faasnap"], _machine);
        Assert.Equal([1, 2], report.Levels);
        Assert.Equal(12.5, report.Throughput("f", "faasnap", ConcurrencyTarget.OneSnapshot, 2));
        Assert.Equal(20, report.Throughput("f", "faasnap", ConcurrencyTarget.OneSnapshot, 1));
        Assert.Equal(30, report.Percentile("f", "faasnap", ConcurrencyTarget.OneSnapshot, 2, 50));
        Assert.Equal(70, report.Percentile("f", "faasnap", ConcurrencyTarget.OneSnapshot, 2, 99));
        Assert.True(double.IsNaN(report.Throughput("f", "faasnap", ConcurrencyTarget.Copies, 2)));
    }
}

using System.Text.Json;
using Snapfn.Bench.Experiments;
using Snapfn.Bench.Load;

namespace Snapfn.Bench.Tests.Load;

/// <summary>
/// The load experiment's figures from a scripted run (requests with their headers, latencies and statuses, and the
/// daemon's metrics), without a daemon: which requests count, the percentiles, 429s and errors apart, the paths and
/// cold starts, what the daemon counted, and how the path mix changed over the run.
/// </summary>
public sealed class LoadReportTests
{
    private static readonly MachineFacts _machine = new("test machine", null, null, SmallPages: false);

    private static LoadSample Ok(int clients, double sent, double latency, string path, double queue = 0, bool warmup = false, int client = 0) =>
        new(clients, client, sent, latency, 200, path, queue, warmup);

    /// <summary>One client: two warm-up requests restored without a recording, then a recorded path, a 429, an error
    /// answer and one never answered; eight clients: 100 answers of 1..100 ms, queue waits 0..99 ms, every path the
    /// policy has, and a kept VM.</summary>
    private static LoadRun Scripted()
    {
        var one = new LoadLevelSamples(1, WindowStartMs: 1000, WindowEndMs: 3000,
        [
            Ok(1, 0, 300, "cold-vanilla", warmup: true),
            Ok(1, 300, 200, "cold-cached", warmup: true),
            Ok(1, 1000, 10, "cold-faasnap", queue: 0.5),
            Ok(1, 1010, 30, "cold-faasnap", queue: 1.5),
            new LoadSample(1, 0, 1040, 2, 429, null, null, false, "{\"error\":\"too-many-requests\"}") { RetryAfter = TimeSpan.FromSeconds(1) },
            new LoadSample(1, 0, 2042, 5, 500, null, null, false, "{\"error\":\"internal\"}"),
            new LoadSample(1, 0, 2047, 60_000, null, null, null, false, "no answer within 60 s"),
        ]);
        var eight = new LoadLevelSamples(8, WindowStartMs: 65_000, WindowEndMs: 75_000,
        [
            Ok(8, 63_000, 40, "cold-faasnap", warmup: true),
            .. Enumerable.Range(1, 100).Select(i => Ok(8, 65_000 + i * 10, i, i == 100 ? "kept" : i % 10 == 0 ? "cold-reap" : "cold-faasnap", queue: i - 1, client: i % 8)),
        ]);
        var before = DaemonReading.Parse(Metrics(vanilla: 1, faasnap: 2, throttled: 0, queueSum: 0, queueCount: 2, busy: 0), "hello-load");
        var after = DaemonReading.Parse(Metrics(vanilla: 1, faasnap: 92, throttled: 0, queueSum: 4.95, queueCount: 102, busy: 8), "hello-load");
        return new LoadRun
        {
            Settings = new LoadSettings { Levels = [1, 8], Warmup = TimeSpan.FromSeconds(1), Duration = TimeSpan.FromSeconds(2), TimelineWindow = TimeSpan.FromSeconds(1) },
            Cpu = new ExperimentCpu(Vmm.CpuKind.Kvm),
            Deploy = ["deployed hello-load on http://127.0.0.1:1: 512 MiB, sha256 0123456789ab"],
            Levels =
            [
                new LoadLevelRun(one, null, null, 0, 0, "waiting; recordings: none"),
                new LoadLevelRun(eight, before, after, PeakBusy: 8, PeakQueued: 0, "recorded (first-invocation); recordings: faasnap, reap"),
            ],
            Notes = ["/metrics could not be read: connection refused"],
        };
    }

    private static string Metrics(double vanilla, double faasnap, double throttled, double queueSum, double queueCount, double busy) => $"""
        # HELP snapfn_cold_starts_total Invocations that restored (or booted) a VM.
        # TYPE snapfn_cold_starts_total counter
        snapfn_cold_starts_total{"{"}function="hello-load",path="cold-vanilla"{"}"} {vanilla}
        snapfn_cold_starts_total{"{"}function="hello-load",path="cold-faasnap"{"}"} {faasnap}
        snapfn_cold_starts_total{"{"}function="other",path="cold-vanilla"{"}"} 99
        snapfn_instance_evictions_total{"{"}function="hello-load",reason="memory"{"}"} 0
        snapfn_throttled_total{"{"}function="hello-load"{"}"} {throttled}
        snapfn_queue_wait_seconds_sum{"{"}function="hello-load"{"}"} {queueSum}
        snapfn_queue_wait_seconds_count{"{"}function="hello-load"{"}"} {queueCount}
        snapfn_queue_wait_seconds_bucket{"{"}function="hello-load",le="0.001"{"}"} 1
        snapfn_instances{"{"}function="hello-load",state="busy"{"}"} {busy}
        snapfn_instances{"{"}function="hello-load",state="idle"{"}"} 0
        snapfn_recordings_total{"{"}function="hello-load",mode="faasnap",outcome="ok"{"}"} {(busy > 0 ? 1 : 0)}
        """;

    [Fact]
    public void A_level_counts_its_measured_answers_and_keeps_429s_and_errors_apart()
    {
        var report = new LoadReport(Scripted(), _machine);
        var one = LoadReport.Figures(report.Run.Levels[0]);

        Assert.Equal(5, one.Sent);
        Assert.Equal(2, one.Ok);
        Assert.Equal(1, one.Throttled);
        Assert.Equal(2, one.Errors);
        // The request never answered ends at 62 047 ms, past the window's end: the window runs to it.
        Assert.Equal(61.047, one.Seconds, 6);
        Assert.Equal(2 / 61.047, one.Throughput, 9);
        // Percentiles of the answered requests only: the 60 s of the one never answered are not a latency.
        Assert.Equal(10, one.P50Ms);
        Assert.Equal(30, one.P99Ms);
        Assert.Equal(0.5, one.QueueP50Ms);
        Assert.Equal(new Dictionary<string, int> { ["cold-faasnap"] = 2 }, one.Paths);
        Assert.Equal(2, one.WarmupSent);
        Assert.Equal(new Dictionary<string, int> { ["cold-cached"] = 1, ["cold-vanilla"] = 1 }, one.WarmupPaths);
    }

    [Fact]
    public void Percentiles_paths_and_cold_starts_of_a_level_with_many_clients()
    {
        var eight = LoadReport.Figures(new LoadReport(Scripted(), _machine).Run.Levels[1]);

        Assert.Equal(100, eight.Ok);
        Assert.Equal(0, eight.Throttled + eight.Errors);
        Assert.Equal(10, eight.Seconds);
        Assert.Equal(10, eight.Throughput);
        Assert.Equal(50, eight.P50Ms);
        Assert.Equal(99, eight.P99Ms);
        Assert.Equal(49, eight.QueueP50Ms);
        Assert.Equal(98, eight.QueueP99Ms);
        Assert.Equal(new Dictionary<string, int> { ["cold-faasnap"] = 90, ["cold-reap"] = 9, ["kept"] = 1 }, eight.Paths);
        // A kept VM served a request without a restore: not a cold start.
        Assert.Equal(new Dictionary<string, int> { ["cold-faasnap"] = 90, ["cold-reap"] = 9 }, eight.ColdStarts);
    }

    [Fact]
    public void What_the_daemon_counted_is_the_difference_of_its_metrics_for_the_function_alone()
    {
        var metrics = Scripted().Levels[1].Metrics!;

        Assert.Equal(new Dictionary<string, double> { ["cold-faasnap"] = 90 }, metrics.ColdStarts);
        Assert.Equal(100, metrics.QueueWaits);
        Assert.Equal(49.5, metrics.MeanQueueWaitMs, 9);
        Assert.Equal(8, metrics.Instance("busy"));
        Assert.Equal(new Dictionary<string, double> { ["faasnap/ok"] = 1 }, metrics.Recordings);
        Assert.Empty(metrics.Evictions);
        Assert.Null(Scripted().Levels[0].Metrics);
    }

    [Fact]
    public void The_timeline_shows_the_paths_before_the_recording_and_after()
    {
        var report = new LoadReport(Scripted(), _machine);

        var first = report.FirstWindow!;
        Assert.Equal(2, first.Sent);
        Assert.Equal(new Dictionary<string, int> { ["cold-cached"] = 1, ["cold-vanilla"] = 1 }, first.Paths);
        var last = report.LastWindow!;
        Assert.Equal(66_000, last.ToMs);
        Assert.Equal(100, last.Sent);
        Assert.DoesNotContain("cold-vanilla", last.Paths.Keys);
        var (sample, before) = report.FirstFromRecording!.Value;
        Assert.Equal(1000, sample.SentMs);
        Assert.Equal("cold-faasnap", sample.Path);
        Assert.Equal(2, before);
        Assert.Equal([0, 1, 63, 65, 66], report.PerSecond.Select(p => p.Second));
    }

    [Fact]
    public void Without_a_request_from_a_recording_the_summary_says_so()
    {
        var run = Scripted();
        var vanillaOnly = run with { Levels = [new LoadLevelRun(new LoadLevelSamples(1, 0, 1000, [Ok(1, 0, 5, "cold-vanilla")]), null, null, 0, 0, null)] };
        var report = new LoadReport(vanillaOnly, _machine);
        Assert.Null(report.FirstFromRecording);
        Assert.Contains("no request was served from a recording", report.SummaryLines());
    }

    [Fact]
    public void Results_json_and_report_md_carry_the_figures()
    {
        var report = new LoadReport(Scripted(), _machine);
        var folder = Directory.CreateTempSubdirectory("snapfn-load-report-").FullName;
        try
        {
            var results = ExperimentOutput.Write(report, folder, "snapfn bench --experiment load --quick", partial: false, repeat: 1);

            using var json = JsonDocument.Parse(File.ReadAllText(results));
            var root = json.RootElement;
            Assert.Equal("load", root.GetProperty("experiment").GetString());
            Assert.Equal("kvm", root.GetProperty("cpu").GetString());
            Assert.Equal(JsonValueKind.Null, root.GetProperty("caveat").ValueKind);
            Assert.Equal(1, root.GetProperty("settings").GetProperty("time_scale").GetInt32());
            var levels = root.GetProperty("levels").EnumerateArray().ToList();
            Assert.Equal([1, 8], levels.Select(l => l.GetProperty("clients").GetInt32()));
            Assert.Equal(1, levels[0].GetProperty("throttled").GetInt32());
            Assert.Equal(2, levels[0].GetProperty("errors").GetInt32());
            Assert.Equal(10, levels[1].GetProperty("throughput_per_s").GetDouble());
            Assert.Equal(99, levels[1].GetProperty("p99_ms").GetDouble());
            Assert.Equal(90, levels[1].GetProperty("daemon").GetProperty("cold_starts").GetProperty("cold-faasnap").GetDouble());
            Assert.Equal(JsonValueKind.Null, levels[0].GetProperty("daemon").ValueKind);
            Assert.Contains("no answer within 60 s", levels[0].GetProperty("errors_seen").EnumerateArray().Select(e => e.GetString()));
            Assert.Equal(1000, root.GetProperty("timeline").GetProperty("first_from_recording").GetProperty("sent_ms").GetDouble());
            Assert.Equal(1, root.GetProperty("timeline").GetProperty("first_window").GetProperty("paths").GetProperty("cold-vanilla").GetInt32());

            var md = File.ReadAllText(Path.Combine(folder, "report.md"));
            Assert.Contains("| 8 | 100 | 10.0 | 50.0 | 99.0 | 0 | 0 | 49.0 | 98.0 | cold-faasnap 90, cold-reap 9, kept 1 |", md, StringComparison.Ordinal);
            Assert.Contains("| 1 | 2 | 0.0 | 10.0 | 30.0 | 1 | 2 |", md, StringComparison.Ordinal);
            Assert.Contains("| 8 | cold-faasnap 90 | 8 | 0 | 49.5 | none | 0 | faasnap/ok 1 | recorded (first-invocation); recordings: faasnap, reap |", md, StringComparison.Ordinal);
            Assert.Contains("first 1 s of the run (2 sent): cold-cached 1, cold-vanilla 1", md, StringComparison.Ordinal);
            Assert.Contains("1 × HTTP 500: {\"error\":\"internal\"}", md, StringComparison.Ordinal);
            Assert.Contains("/metrics could not be read: connection refused", md, StringComparison.Ordinal);
            Assert.True(File.Exists(Path.Combine(folder, "chart-latency.png")));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public void An_emulated_run_is_labelled_a_trial_first_in_every_output()
    {
        var kvm = Scripted();
        var run = kvm with { Cpu = new ExperimentCpu(Vmm.CpuKind.Soft), Settings = kvm.Settings.ForCpu(new ExperimentCpu(Vmm.CpuKind.Soft)) };
        var report = new LoadReport(run, _machine);
        var caveat = run.Cpu.Caveat!;
        var folder = Directory.CreateTempSubdirectory("snapfn-load-trial-").FullName;
        try
        {
            var results = ExperimentOutput.Write(report, folder, "snapfn bench --experiment load --quick", partial: false, repeat: 1);

            using var json = JsonDocument.Parse(File.ReadAllText(results));
            Assert.Equal("soft", json.RootElement.GetProperty("cpu").GetString());
            Assert.Equal(caveat, json.RootElement.GetProperty("caveat").GetString());
            Assert.Equal(LoadSettings.EmulatedTimeScale, json.RootElement.GetProperty("settings").GetProperty("time_scale").GetInt32());
            // The caveat is report.md's first line, and the console's summary starts with it.
            Assert.Equal($"> **{caveat}**", File.ReadLines(Path.Combine(folder, "report.md")).First());
            Assert.Contains("EMULATED CPU", File.ReadLines(Path.Combine(folder, "report.md")).Skip(2).First(), StringComparison.Ordinal);
            Assert.Equal(caveat, report.SummaryLines()[0]);
            Assert.StartsWith("EMULATED CPU (SNAPFN_CPU=soft)", report.ChartTitle, StringComparison.Ordinal);
            Assert.DoesNotContain("EMULATED", new LoadReport(kvm, _machine).ChartTitle, StringComparison.Ordinal);
            Assert.DoesNotContain(new LoadReport(kvm, _machine).SummaryLines(), l => l.Contains("EMULATED", StringComparison.Ordinal));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}

using System.Text.Json;
using Snapfn.Bench.Cluster;
using Snapfn.Bench.Experiments;
using Snapfn.Vmm;

namespace Snapfn.Bench.Tests.Cluster;

/// <summary>The cluster report's figures on a hand-made run, worked out by hand: w3 is killed at 100 ms.</summary>
public sealed class ClusterReportTests
{
    private static readonly MachineFacts _machine = new("test machine", null, null, SmallPages: false);

    private static ClusterRequest Sync(int seq, double sent, double? answered, string? worker, int? status = 200, string[]? retried = null, string? id = null) =>
        new(seq, "py-json", InvocationKind.Sync, seq % 3, sent, answered, status, id ?? $"id{seq}", worker, retried ?? []);

    private static ClusterRequest Async(int seq, double sent, double? answered, string? worker, int? status = 200, string[]? retried = null) =>
        new(seq, "py-hello-world", InvocationKind.Async, seq % 3, sent, answered, status, $"id{seq}", worker, retried ?? []);

    /// <summary>
    /// Sync before the kill: latencies 10, 20, 30 (p50 20, p99 30). #3 was in flight across the kill on w3 and retried
    /// on w1 (answered at 180: recovered 80 ms after). After the kill: #4 (latency 40) was still given to w3 at 130
    /// (30 ms after the kill) and retried; #5 latency 50; #6 timed out (lost); #7 answered 502 (lost, failed).
    /// Async: #8 before (latency 100), #9 after (latency 200).
    /// </summary>
    private static ClusterRun Run(IReadOnlyList<ServedInvocation>? served = null) => new()
    {
        Settings = ClusterSettings.For(quick: true),
        Cpu = new ExperimentCpu(CpuKind.Kvm),
        WorkerIds = ["w1", "w2", "w3"],
        KilledWorker = "w3",
        KillMs = 100,
        Requests =
        [
            Sync(0, 0, 10, "w1"), Sync(1, 10, 30, "w3"), Sync(2, 20, 50, "w2"),
            Sync(3, 90, 180, "w1", retried: ["w3"]),
            Sync(4, 130, 170, "w2", retried: ["w3"]),
            Sync(5, 140, 190, "w1"),
            Sync(6, 150, null, null, status: null),
            Sync(7, 160, 170, null, status: 502),
            Async(8, 0, 100 - 1, "w2"),
            Async(9, 200, 400, "w1"),
        ],
        Served = served ?? [],
        Snapshots = [new SnapshotTaken("py-json", "w1", BootMs: 300, InitMs: 600, WriteMs: 100)],
        Fetches =
        [
            new ReplicaFetchReading("w2", "py-json", Fetches: 2, Chunks: 40, Bytes: 20 << 20, Seconds: 0.5, OwnSnapshots: 0),
            new ReplicaFetchReading("w3", "py-json", Fetches: 0, Chunks: 0, Bytes: 0, Seconds: 0, OwnSnapshots: 0),
        ],
    };

    [Fact]
    public void Sent_answered_and_lost_count_an_error_answer_and_a_timeout_as_lost()
    {
        var report = new ClusterReport(Run(), _machine);
        Assert.Equal(10, report.Sent);
        Assert.Equal(8, report.Answered);
        Assert.Equal(2, report.Lost);
        Assert.Equal(1, report.Failed);
    }

    [Fact]
    public void Percentiles_are_split_by_kind_and_by_where_each_request_stood_against_the_kill()
    {
        var report = new ClusterReport(Run(), _machine);
        Assert.Equal(3, report.Count(InvocationKind.Sync, KillPhase.Before));
        Assert.Equal(20, report.Percentile(InvocationKind.Sync, KillPhase.Before, 50));
        Assert.Equal(30, report.Percentile(InvocationKind.Sync, KillPhase.Before, 99));
        Assert.Equal(1, report.Count(InvocationKind.Sync, KillPhase.Across));
        Assert.Equal(90, report.Percentile(InvocationKind.Sync, KillPhase.Across, 50));
        // After: 40 and 50 answered; the timeout and the 502 are counted but have no latency.
        Assert.Equal(4, report.Count(InvocationKind.Sync, KillPhase.After));
        Assert.Equal(40, report.Percentile(InvocationKind.Sync, KillPhase.After, 50));
        Assert.Equal(50, report.Percentile(InvocationKind.Sync, KillPhase.After, 99));
        Assert.Equal(99, report.Percentile(InvocationKind.Async, KillPhase.Before, 50));
        Assert.Equal(200, report.Percentile(InvocationKind.Async, KillPhase.After, 99));
        Assert.True(double.IsNaN(report.Percentile(InvocationKind.Async, KillPhase.Across, 50)));
    }

    [Fact]
    public void Time_to_no_dead_worker_is_the_last_send_after_the_kill_that_the_dead_worker_was_given()
    {
        var report = new ClusterReport(Run(), _machine);
        Assert.Equal(30, report.TimeToNoDeadWorkerMs);
        Assert.Equal(80, report.RecoveredAfterMs);
        Assert.Equal(2, report.Rerouted);
    }

    [Fact]
    public void Without_a_request_to_the_dead_worker_after_the_kill_the_time_is_zero_and_without_a_kill_none()
    {
        var run = Run();
        var none = run with { Requests = [.. run.Requests.Where(r => r.Sequence != 4)] };
        Assert.Equal(0, new ClusterReport(none, _machine).TimeToNoDeadWorkerMs);
        var unkilled = run with { KilledWorker = null, KillMs = null };
        var report = new ClusterReport(unkilled, _machine);
        Assert.True(double.IsNaN(report.TimeToNoDeadWorkerMs));
        Assert.Equal(0, report.Rerouted);
        Assert.All(unkilled.Requests, r => Assert.Equal(KillPhase.Before, report.Phase(r)));
    }

    [Fact]
    public void Served_twice_counts_ids_that_more_than_one_successful_run_finished_across_workers()
    {
        ServedInvocation[] served =
        [
            new("w3", "id3", "py-json", true), new("w1", "id3", "py-json", true), // finished on w3 before it died, again on w1
            new("w2", "id4", "py-json", false), new("w2", "id4", "py-json", true), // a failed run then a good one: once
            new("w1", "id5", "py-json", true),
        ];
        var report = new ClusterReport(Run(served), _machine);
        Assert.Equal(["id3"], report.ServedTwiceIds);
        Assert.Equal(1, report.ServedTwice);
        // Answered: 0 1 2 3 4 5 7? no: 7 failed. Logged ids: id3, id4, id5; answered and not logged: 0, 1, 2, 8, 9.
        Assert.Equal(5, report.AnsweredButNotLogged);
    }

    [Fact]
    public void A_fetch_is_reported_beside_what_taking_the_snapshot_cost()
    {
        var report = new ClusterReport(Run(), _machine);
        Assert.Equal(1000, report.SnapshotMs("py-json"));
        Assert.Equal(250, ClusterReport.MeanFetchMs(report.Run.Fetches[0]));
        Assert.True(double.IsNaN(ClusterReport.MeanFetchMs(report.Run.Fetches[1])));
        // A snapshot the worker took itself is in the histogram's sum too, so it counts among the calls.
        Assert.Equal(300, ClusterReport.MeanFetchMs(new ReplicaFetchReading("w3", "py-json", Fetches: 1, Chunks: 3, Bytes: 1, Seconds: 0.6, OwnSnapshots: 1)));
        var fetchLine = Assert.Single(report.SummaryLines(), l => l.StartsWith("w2 fetched", StringComparison.Ordinal));
        Assert.Contains("40 chunks, 20.0 MiB in 250 ms, against 1000 ms to take it", fetchLine, StringComparison.Ordinal);
        Assert.DoesNotContain(report.SummaryLines(), l => l.StartsWith("w3 fetched", StringComparison.Ordinal));
    }

    [Fact]
    public void The_first_reply_with_a_fetch_time_says_which_worker_fetched_and_how_long_it_took()
    {
        var run = Run();
        ClusterRequest[] requests =
        [
            .. run.Requests,
            Sync(10, 300, 900, "w2") with { FetchMs = 550 },
            Sync(11, 310, 700, "w2") with { FetchMs = 20 }, // a reply that waited on the same fetch
            Sync(12, 320, 330, "w1") with { FetchMs = null },
        ];
        var report = new ClusterReport(run with { Requests = requests }, _machine);
        var seen = Assert.Single(report.FetchesSeen);
        Assert.Equal(("w2", "py-json", 550.0, 2), seen);
        Assert.Contains("w2's first reply for py-json spent 550 ms making it local (Snapfn-Fetch-Ms), against 1000 ms to take its snapshot", report.SummaryLines());
    }

    [Fact]
    public void The_output_folder_has_results_json_report_md_and_the_chart_with_the_figures_above()
    {
        var report = new ClusterReport(Run(), _machine);
        var folder = Directory.CreateTempSubdirectory("snapfn-cluster-report-").FullName;
        try
        {
            var results = ExperimentOutput.Write(report, folder, "snapfn bench --experiment cluster --quick", partial: false, repeat: 1);
            using var json = JsonDocument.Parse(File.ReadAllText(results));
            var root = json.RootElement;
            Assert.Equal("cluster", root.GetProperty("experiment").GetString());
            var summary = root.GetProperty("summary");
            Assert.Equal(10, summary.GetProperty("sent").GetInt32());
            Assert.Equal(2, summary.GetProperty("lost").GetInt32());
            Assert.Equal(30, summary.GetProperty("time_to_no_dead_worker_ms").GetDouble());
            Assert.Equal(20, summary.GetProperty("latency_ms").GetProperty("sync").GetProperty("before").GetProperty("p50").GetDouble());
            Assert.Equal(JsonValueKind.Null, summary.GetProperty("latency_ms").GetProperty("async").GetProperty("across").GetProperty("p50").ValueKind);
            Assert.Equal(10, root.GetProperty("requests").GetArrayLength());
            Assert.Equal("w3", root.GetProperty("requests")[3].GetProperty("retried_from")[0].GetString());
            var md = File.ReadAllText(Path.Combine(folder, "report.md"));
            Assert.Contains("requests sent 10, answered 8, lost 2, served twice 0", md, StringComparison.Ordinal);
            Assert.Contains("| sync | before | 3 | 20.0 | 30.0 |", md, StringComparison.Ordinal);
            Assert.Contains("## Lost requests: 2", md, StringComparison.Ordinal);
            Assert.True(new FileInfo(Path.Combine(folder, "chart-latency.png")).Length > 0);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public void On_KVM_nothing_is_labelled_emulated()
    {
        var report = new ClusterReport(Run(), _machine);
        Assert.StartsWith("requests sent 10", report.SummaryLines()[0], StringComparison.Ordinal);
        Assert.DoesNotContain("EMULATED", report.Markdown("snapfn bench --experiment cluster", interrupted: false, repeat: 1), StringComparison.Ordinal);
        Assert.DoesNotContain("EMULATED", report.ChartTitle, StringComparison.Ordinal);
    }

    [Fact]
    public void An_emulated_run_says_so_first_everywhere_a_time_is_shown_and_records_its_cpu_and_timeout_scale()
    {
        var cpu = new ExperimentCpu(CpuKind.Soft);
        var run = Run() with { Cpu = cpu, Settings = ClusterSettings.For(quick: true).ForCpu(cpu) };
        var report = new ClusterReport(run, _machine);
        var caveat = cpu.Caveat!;
        // Printed first on the console: the summary's first line.
        Assert.Equal(caveat, report.SummaryLines()[0]);
        Assert.StartsWith("EMULATED CPU, not a measurement", report.ChartTitle, StringComparison.Ordinal);
        var folder = Directory.CreateTempSubdirectory("snapfn-cluster-report-").FullName;
        try
        {
            var results = ExperimentOutput.Write(report, folder, "snapfn bench --experiment cluster --quick", partial: false, repeat: 1);
            using var json = JsonDocument.Parse(File.ReadAllText(results));
            Assert.Equal("soft", json.RootElement.GetProperty("cpu").GetString());
            Assert.Equal(caveat, json.RootElement.GetProperty("caveat").GetString());
            var settings = json.RootElement.GetProperty("settings");
            Assert.Equal(ClusterSettings.EmulatedTimeoutScale, settings.GetProperty("timeout_scale").GetInt32());
            Assert.Equal(60.0 * ClusterSettings.EmulatedTimeoutScale, settings.GetProperty("request_timeout_s").GetDouble());
            // At the top of report.md: in the title, and the caveat before any figure.
            var md = File.ReadAllLines(Path.Combine(folder, "report.md"));
            Assert.EndsWith("(emulated CPU: a trial)", md[0], StringComparison.Ordinal);
            var caveatLine = Array.FindIndex(md, l => l.Contains(caveat, StringComparison.Ordinal));
            Assert.InRange(caveatLine, 1, Array.FindIndex(md, l => l.Contains("requests sent 10", StringComparison.Ordinal)) - 1);
            Assert.True(caveatLine < Array.FindIndex(md, l => l.StartsWith("## ", StringComparison.Ordinal)));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public void Each_fetchers_log_says_whether_it_restored_from_the_fetched_snapshot_or_booted_the_runtime()
    {
        ServedInvocation[] served =
        [
            new("w2", "id2", "py-json", true, "vanilla", Order: 1), new("w2", "id4", "py-json", true, "faasnap", Order: 2),
            new("w2", "id5", "py-json", true, "faasnap", Order: 3), new("w1", "id0", "py-json", true, "warm", Order: 1),
        ];
        var report = new ClusterReport(Run(served), _machine);

        Assert.Equal([("w1", "py-json", "warm"), ("w2", "py-json", "vanilla")], report.ServedModes.Select(m => (m.Worker, m.Function, m.FirstMode)));
        Assert.Equal(new Dictionary<string, int> { ["faasnap"] = 2, ["vanilla"] = 1 }, report.ServedModes[1].Modes);
        Assert.Equal(1, report.Booted("w1", "py-json"));
        Assert.Equal(0, report.Booted("w2", "py-json"));
        // Said for the worker that fetched (w2), after its fetch line.
        var lines = report.SummaryLines();
        var fetch = lines.ToList().FindIndex(l => l.StartsWith("w2 fetched", StringComparison.Ordinal));
        Assert.Equal("w2 ran py-json 3 time(s), the first in mode vanilla; by mode: faasnap 2, vanilla 1; none booted the runtime (every VM restored from the snapshot)", lines[fetch + 1]);
    }
}

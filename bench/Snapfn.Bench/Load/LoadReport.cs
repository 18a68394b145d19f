using System.Globalization;
using System.Text;
using ScottPlot;
using Snapfn.Bench.Experiments;
using Snapfn.Platform;
using Snapfn.Vmm;

namespace Snapfn.Bench.Load;

/// <summary>One level's figures, from the requests sent in its measured window (after the warm-up).</summary>
public sealed record LevelFigures
{
    public required int Clients { get; init; }
    public required int Sent { get; init; }
    public required int Ok { get; init; }
    public required int Throttled { get; init; }
    public required int Errors { get; init; }
    /// <summary>From the window's start to its end, or to the last answer of a request sent in it when later.</summary>
    public required double Seconds { get; init; }
    /// <summary>Requests answered 200 per second of <see cref="Seconds"/>.</summary>
    public required double Throughput { get; init; }
    public required double P50Ms { get; init; }
    public required double P99Ms { get; init; }
    /// <summary>Of the answered requests' Snapfn-Queue-Ms.</summary>
    public required double QueueP50Ms { get; init; }
    public required double QueueP99Ms { get; init; }
    /// <summary>The answered requests by the path that served them (Snapfn-Path).</summary>
    public required IReadOnlyDictionary<string, int> Paths { get; init; }
    /// <summary>The paths of <see cref="Paths"/> that restored a VM.</summary>
    public required IReadOnlyDictionary<string, int> ColdStarts { get; init; }
    public required int WarmupSent { get; init; }
    public required IReadOnlyDictionary<string, int> WarmupPaths { get; init; }
}

/// <summary>The paths of the requests sent in a stretch of the run's timeline (warm-ups included).</summary>
public sealed record PathMix(double FromMs, double ToMs, int Sent, IReadOnlyDictionary<string, int> Paths, int Throttled, int Errors);

/// <summary>
/// The load experiment's figures (issue 21): per level of concurrent clients, the throughput, p50 and p99 of the
/// answered requests, the paths that served them and their cold starts, 429s and errors counted apart, the queue
/// wait, and what the daemon's metrics counted meanwhile; then how the path mix changed over the run, as the
/// platform recorded the function from its first request and its cold starts moved to the recorded mode.
/// </summary>
public sealed class LoadReport : IExperimentReport
{
    public LoadReport(LoadRun run, MachineFacts machine)
    {
        ArgumentNullException.ThrowIfNull(run);
        ArgumentNullException.ThrowIfNull(machine);
        Run = run;
        Machine = machine;
    }

    public LoadRun Run { get; }

    public MachineFacts Machine { get; }

    /// <summary>Every request of the run, warm-ups included, in the order they were sent.</summary>
    public IReadOnlyList<LoadSample> Timeline => [.. Run.Levels.SelectMany(l => l.Requests.Samples).OrderBy(s => s.SentMs)];

    /// <summary>Whether a path restored (or booted) a VM: everything but an idle VM reused (kept, or reset in place)
    /// and a warm override. The daemon's own rule is <see cref="ServePath.IsColdStart"/>; this reads its names.</summary>
    public static bool IsColdStart(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        return path.StartsWith("cold-", StringComparison.Ordinal)
            || (path.StartsWith("mode-", StringComparison.Ordinal) && path != "mode-" + Snapshots.Backends.WarmMode.Name);
    }

    /// <summary>The paths that restore from a recording the platform made: cold-faasnap, cold-reap.</summary>
    public static IReadOnlyList<string> RecordedPaths { get; } = [.. ServingPolicy.RecordedPreference.Select(m => ServePath.Cold(m).Name)];

    public static LevelFigures Figures(LoadLevelRun level)
    {
        ArgumentNullException.ThrowIfNull(level);
        var measured = level.Requests.Samples.Where(s => !s.Warmup).ToList();
        var ok = measured.Where(s => s.Outcome == LoadOutcome.Ok).ToList();
        var end = measured.Count == 0 ? level.Requests.WindowEndMs : Math.Max(level.Requests.WindowEndMs, measured.Max(s => s.AnsweredMs));
        var seconds = (end - level.Requests.WindowStartMs) / 1000;
        var paths = CountPaths(ok);
        return new LevelFigures
        {
            Clients = level.Clients,
            Sent = measured.Count,
            Ok = ok.Count,
            Throttled = measured.Count(s => s.Outcome == LoadOutcome.Throttled),
            Errors = measured.Count(s => s.Outcome == LoadOutcome.Error),
            Seconds = seconds,
            Throughput = measured.Count > 0 && seconds > 0 ? ok.Count / seconds : double.NaN,
            P50Ms = Stats.Percentile(ok.Select(s => s.LatencyMs), 50),
            P99Ms = Stats.Percentile(ok.Select(s => s.LatencyMs), 99),
            QueueP50Ms = Stats.Percentile(ok.Where(s => s.QueueMs is not null).Select(s => s.QueueMs!.Value), 50),
            QueueP99Ms = Stats.Percentile(ok.Where(s => s.QueueMs is not null).Select(s => s.QueueMs!.Value), 99),
            Paths = paths,
            ColdStarts = paths.Where(p => IsColdStart(p.Key)).ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal),
            WarmupSent = level.Requests.Samples.Count - measured.Count,
            WarmupPaths = CountPaths(level.Requests.Samples.Where(s => s.Warmup && s.Outcome == LoadOutcome.Ok)),
        };
    }

    public IReadOnlyList<LevelFigures> AllFigures => [.. Run.Levels.Select(Figures)];

    /// <summary>The requests sent in the run's first <see cref="LoadSettings.TimelineWindow"/>.</summary>
    public PathMix? FirstWindow
    {
        get
        {
            var timeline = Timeline;
            if (timeline.Count == 0)
                return null;
            var from = timeline[0].SentMs;
            return Mix(timeline, from, from + Run.Settings.TimelineWindow.TotalMilliseconds);
        }
    }

    /// <summary>The requests sent in the run's last <see cref="LoadSettings.TimelineWindow"/>, up to the last sent.</summary>
    public PathMix? LastWindow
    {
        get
        {
            var timeline = Timeline;
            if (timeline.Count == 0)
                return null;
            var to = timeline[^1].SentMs;
            return Mix(timeline, to - Run.Settings.TimelineWindow.TotalMilliseconds, to, inclusiveEnd: true);
        }
    }

    /// <summary>The first answered request a recorded path served, and how many were answered before it: when the
    /// automatic recording took over. Null when none was.</summary>
    public (LoadSample Sample, int AnsweredBefore)? FirstFromRecording
    {
        get
        {
            var answered = Timeline.Where(s => s.Outcome == LoadOutcome.Ok).ToList();
            var at = answered.FindIndex(s => s.Path is { } p && RecordedPaths.Contains(p));
            return at < 0 ? null : (answered[at], at);
        }
    }

    /// <summary>The answered requests by second of the timeline (the second they were sent in) and path.</summary>
    public IReadOnlyList<(int Second, IReadOnlyDictionary<string, int> Paths)> PerSecond =>
        [.. Timeline.Where(s => s.Outcome == LoadOutcome.Ok).GroupBy(s => (int)Math.Floor(s.SentMs / 1000)).OrderBy(g => g.Key)
            .Select(g => (g.Key, CountPaths(g)))];

    private static PathMix Mix(IReadOnlyList<LoadSample> timeline, double from, double to, bool inclusiveEnd = false)
    {
        var inside = timeline.Where(s => s.SentMs >= from && (inclusiveEnd ? s.SentMs <= to : s.SentMs < to)).ToList();
        return new PathMix(from, to, inside.Count, CountPaths(inside.Where(s => s.Outcome == LoadOutcome.Ok)),
            inside.Count(s => s.Outcome == LoadOutcome.Throttled), inside.Count(s => s.Outcome == LoadOutcome.Error));
    }

    private static Dictionary<string, int> CountPaths(IEnumerable<LoadSample> samples) =>
        samples.GroupBy(s => s.Path ?? "(none)", StringComparer.Ordinal).OrderByDescending(g => g.Count()).ThenBy(g => g.Key, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);

    /// <summary>"cold-faasnap 120, cold-vanilla 3", or "none".</summary>
    public static string Describe(IReadOnlyDictionary<string, int> counts)
    {
        ArgumentNullException.ThrowIfNull(counts);
        return counts.Count == 0 ? "none" : string.Join(", ", counts.Select(c => string.Create(CultureInfo.InvariantCulture, $"{c.Key} {c.Value}")));
    }

    private static string Describe(IReadOnlyDictionary<string, double> counts) =>
        Describe(counts.Where(c => c.Value != 0).ToDictionary(c => c.Key, c => (int)Math.Round(c.Value), StringComparer.Ordinal));

    private static string Describe(PathMix mix) => string.Create(CultureInfo.InvariantCulture,
        $"{Describe(mix.Paths)}{(mix.Throttled > 0 ? $"; 429 {mix.Throttled}" : "")}{(mix.Errors > 0 ? $"; errors {mix.Errors}" : "")}");

    /// <summary>The lines printed at the end and put at the top of report.md.</summary>
    public IReadOnlyList<string> SummaryLines()
    {
        var lines = new List<string>();
        if (Run.Cpu.Caveat is { } caveat)
            lines.Add(caveat);
        foreach (var f in AllFigures)
        {
            lines.Add(string.Create(CultureInfo.InvariantCulture,
                $"{f.Clients} client(s): {ReportFormat.Figure(f.Throughput, "0.0")} req/s, p50 {ReportFormat.Figure(f.P50Ms, "0.0")} ms, p99 {ReportFormat.Figure(f.P99Ms, "0.0")} ms; {f.Ok} answered, 429 {f.Throttled}, errors {f.Errors}; cold starts {Describe(f.ColdStarts)}"));
        }
        var window = Run.Settings.TimelineWindow.TotalSeconds;
        if (FirstWindow is { } first && LastWindow is { } last)
        {
            lines.Add(string.Create(CultureInfo.InvariantCulture, $"paths in the run's first {window:0.#} s: {Describe(first)}; in its last {window:0.#} s: {Describe(last)}"));
        }
        lines.Add(FirstFromRecording is { } taken
            ? string.Create(CultureInfo.InvariantCulture,
                $"the first request served from a recording ({taken.Sample.Path}) was sent {taken.Sample.SentMs / 1000:0.0} s into the run, after {taken.AnsweredBefore} answered without one")
            : "no request was served from a recording");
        return lines;
    }

    public void WriteJson(string path, string commandLine, bool interrupted, int repeat)
    {
        var s = Run.Settings;
        var document = new
        {
            // Before the figures: on the emulated CPU they are a trial's, and its times are the emulator's.
            cpu = Run.Cpu.Name,
            caveat = Run.Cpu.Caveat,
            settings = new
            {
                s.Function,
                source = LoadSettings.SourceFunction,
                s.Input,
                s.Levels,
                warmup_s = s.Warmup.TotalSeconds,
                duration_s = s.Duration.TotalSeconds,
                request_timeout_s = s.RequestTimeout.TotalSeconds,
                s.MaxErrorsPerLevel,
                max_retry_after_s = s.MaxRetryAfter.TotalSeconds,
                timeline_window_s = s.TimelineWindow.TotalSeconds,
                time_scale = s.TimeScale,
            },
            deploy = Run.Deploy,
            levels = Run.Levels.Select(l => (Level: l, Figures: Figures(l))).Select(x => new
            {
                clients = x.Figures.Clients,
                sent = x.Figures.Sent,
                ok = x.Figures.Ok,
                throttled = x.Figures.Throttled,
                errors = x.Figures.Errors,
                seconds = x.Figures.Seconds,
                throughput_per_s = ReportFormat.Finite(x.Figures.Throughput),
                p50_ms = ReportFormat.Finite(x.Figures.P50Ms),
                p99_ms = ReportFormat.Finite(x.Figures.P99Ms),
                queue_p50_ms = ReportFormat.Finite(x.Figures.QueueP50Ms),
                queue_p99_ms = ReportFormat.Finite(x.Figures.QueueP99Ms),
                paths = x.Figures.Paths,
                cold_starts = x.Figures.ColdStarts,
                warmup_sent = x.Figures.WarmupSent,
                warmup_paths = x.Figures.WarmupPaths,
                stopped_early = x.Level.Requests.StoppedEarly,
                errors_seen = x.Level.Requests.Samples.Where(r => r.Outcome == LoadOutcome.Error).Select(r => r.Describe()).Distinct(StringComparer.Ordinal).Take(10),
                daemon = x.Level.Metrics is { } m
                    ? new
                    {
                        cold_starts = m.ColdStarts,
                        evictions = m.Evictions,
                        throttled = m.Throttled,
                        queue_waits = m.QueueWaits,
                        mean_queue_wait_ms = ReportFormat.Finite(m.MeanQueueWaitMs),
                        recordings = m.Recordings,
                        instances_after = m.Instances,
                        peak_busy = x.Level.PeakBusy,
                        peak_queued = x.Level.PeakQueued,
                    }
                    : null,
                auto_recording = x.Level.AutoRecording,
            }),
            timeline = new
            {
                first_window = FirstWindow,
                last_window = LastWindow,
                first_from_recording = FirstFromRecording is { } taken
                    ? new { sent_ms = taken.Sample.SentMs, path = taken.Sample.Path, answered_before = taken.AnsweredBefore }
                    : null,
                per_second = PerSecond.Select(p => new { second = p.Second, paths = p.Paths }),
            },
            notes = Run.Notes,
        };
        ReportFormat.WriteJson(path, "load", commandLine, interrupted, Machine, document);
    }

    public string Markdown(string commandLine, bool interrupted, int repeat)
    {
        var md = new StringBuilder();
        var s = Run.Settings;
        // First of all, above the title: nobody may read an emulated run's times as Snapfn's.
        if (Run.Cpu.Caveat is { } caveat)
            md.AppendLine(CultureInfo.InvariantCulture, $"> **{caveat}**").AppendLine();
        ReportFormat.Preamble(md, Run.Cpu.Emulated
            ? "Snapfn load trial on the EMULATED CPU: the daemon picking the path (issue 21); counts only, no time is a measurement"
            : "Snapfn benchmark: load on the daemon, the platform picking the path (issue 21)", commandLine, interrupted, Machine);
        md.AppendLine(CultureInfo.InvariantCulture, $"- cpu: {Run.Cpu.Name}");
        if (s.TimeScale != 1)
            md.AppendLine(CultureInfo.InvariantCulture, $"- times of the run scaled by {s.TimeScale} for the emulated CPU (warm-up, measured window, timeline window; the request timeout by {VirtualCpu.SoftTimeoutScale}, as the daemon's watchdog)");
        md.AppendLine(CultureInfo.InvariantCulture,
            $"- one `snapfn serve` with a fresh SNAPFN_HOME; {LoadSettings.SourceFunction}'s code deployed as `{s.Function}` with `snapfn deploy` (the deploy takes the snapshot; no record step); then, for {string.Join(", ", s.Levels)} concurrent clients in turn, each client sends `POST /functions/{s.Function}/invoke` without a mode, the next when the last is answered: {s.Warmup.TotalSeconds:0.#} s of warm-up, then {s.Duration.TotalSeconds:0.#} s measured");
        md.AppendLine("- throughput: requests answered 200 per second of the measured window; p50/p99: their latency at the client; paths: `Snapfn-Path` of each answer; cold starts: the paths that restored a VM; queue: `Snapfn-Queue-Ms`; a 429 (the function ran its max_instances and its queue was full or the wait too long) makes its client wait Retry-After, and is counted apart from errors (any other status, or no answer)");
        md.AppendLine("- daemon: `/metrics` read before and after each level (cold starts by path, evictions, refusals, queue waits, recordings), and every second during it for the peak of busy VMs and queued requests");
        foreach (var line in Run.Deploy)
            md.AppendLine(CultureInfo.InvariantCulture, $"- deploy: {line}");
        md.AppendLine();
        md.AppendLine("## Summary");
        md.AppendLine();
        foreach (var line in SummaryLines())
            md.AppendLine(CultureInfo.InvariantCulture, $"- {line}");
        md.AppendLine();
        md.AppendLine("## Per level (measured window)");
        md.AppendLine();
        md.AppendLine("| clients | answered | req/s | p50 ms | p99 ms | 429 | errors | queue p50 ms | queue p99 ms | paths |");
        md.AppendLine("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|");
        foreach (var f in AllFigures)
        {
            md.AppendLine(string.Create(CultureInfo.InvariantCulture,
                $"| {f.Clients} | {f.Ok} | {ReportFormat.Figure(f.Throughput, "0.0")} | {ReportFormat.Figure(f.P50Ms, "0.0")} | {ReportFormat.Figure(f.P99Ms, "0.0")} | {f.Throttled} | {f.Errors} | {ReportFormat.Figure(f.QueueP50Ms, "0.0")} | {ReportFormat.Figure(f.QueueP99Ms, "0.0")} | {Describe(f.Paths)} |"));
        }
        md.AppendLine();
        md.AppendLine("## What the daemon counted (its /metrics, warm-up included)");
        md.AppendLine();
        md.AppendLine("| clients | cold starts by path | peak busy | peak queued | mean queue wait ms | evictions | 429 | recordings | automatic recording after |");
        md.AppendLine("|---:|---|---:|---:|---:|---|---:|---|---|");
        foreach (var level in Run.Levels)
        {
            if (level.Metrics is not { } m)
            {
                md.AppendLine(CultureInfo.InvariantCulture, $"| {level.Clients} | not read | | | | | | | {level.AutoRecording ?? "–"} |");
                continue;
            }
            md.AppendLine(string.Create(CultureInfo.InvariantCulture,
                $"| {level.Clients} | {Describe(m.ColdStarts)} | {level.PeakBusy:0} | {level.PeakQueued:0} | {ReportFormat.Figure(m.MeanQueueWaitMs, "0.0")} | {Describe(m.Evictions)} | {m.Throttled:0} | {Describe(m.Recordings)} | {level.AutoRecording ?? "–"} |"));
        }
        md.AppendLine();
        md.AppendLine("## How the automatic recording took over");
        md.AppendLine();
        md.AppendLine("The run's requests in the order they were sent, warm-ups included: the first are restored without a recording (`cold-cached` or `cold-vanilla`) while the platform records the function from its first request in the background; once the recording is swapped in, cold starts use it.");
        md.AppendLine();
        md.AppendLine("| level | warm-up paths | measured paths |");
        md.AppendLine("|---:|---|---|");
        foreach (var f in AllFigures)
            md.AppendLine(CultureInfo.InvariantCulture, $"| {f.Clients} | {Describe(f.WarmupPaths)} | {Describe(f.Paths)} |");
        md.AppendLine();
        if (FirstWindow is { } first && LastWindow is { } last)
        {
            md.AppendLine(CultureInfo.InvariantCulture, $"- first {s.TimelineWindow.TotalSeconds:0.#} s of the run ({first.Sent} sent): {Describe(first)}");
            md.AppendLine(CultureInfo.InvariantCulture, $"- last {s.TimelineWindow.TotalSeconds:0.#} s of the run ({last.Sent} sent): {Describe(last)}");
        }
        md.AppendLine();
        var errors = Run.Levels.SelectMany(l => l.Requests.Samples).Where(r => r.Outcome == LoadOutcome.Error).ToList();
        var stopped = Run.Levels.Where(l => l.Requests.StoppedEarly is not null).ToList();
        if (errors.Count > 0 || stopped.Count > 0)
        {
            md.AppendLine(CultureInfo.InvariantCulture, $"## Errors: {errors.Count}");
            md.AppendLine();
            foreach (var level in stopped)
                md.AppendLine(CultureInfo.InvariantCulture, $"- {level.Clients} clients: {level.Requests.StoppedEarly}");
            foreach (var group in errors.GroupBy(e => e.Describe(), StringComparer.Ordinal).OrderByDescending(g => g.Count()).Take(10))
                md.AppendLine(CultureInfo.InvariantCulture, $"- {group.Count()} × {group.Key}");
            md.AppendLine();
        }
        if (Run.Notes.Count > 0)
        {
            md.AppendLine("## Notes");
            md.AppendLine();
            foreach (var note in Run.Notes)
                md.AppendLine(CultureInfo.InvariantCulture, $"- {note}");
            md.AppendLine();
        }
        md.AppendLine("Chart: `chart-latency.png`, each answered request's latency against the time it was sent, by path.");
        return md.ToString();
    }

    /// <summary>The chart's title: on the emulated CPU it says first that its latencies are the emulator's.</summary>
    public string ChartTitle => Run.Cpu.Emulated
        ? "EMULATED CPU (SNAPFN_CPU=soft): a trial, its latencies are not measurements"
        : "load: latency of each answered request, by the path that served it";

    public void WriteCharts(string folder)
    {
        var answered = Timeline.Where(s => s.Outcome == LoadOutcome.Ok).ToList();
        if (answered.Count == 0)
            return;
        var plot = new Plot();
        foreach (var path in answered.GroupBy(s => s.Path ?? "(none)", StringComparer.Ordinal).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            var points = plot.Add.ScatterPoints(path.Select(s => s.SentMs / 1000).ToArray(), path.Select(s => s.LatencyMs).ToArray());
            points.LegendText = path.Key;
        }
        foreach (var level in Run.Levels)
        {
            var line = plot.Add.VerticalLine(level.Requests.WindowStartMs / 1000);
            line.LegendText = string.Create(CultureInfo.InvariantCulture, $"{level.Clients} client(s) measured from");
            line.LinePattern = LinePattern.Dashed;
        }
        plot.Axes.Bottom.Label.Text = "sent at (s since the run started)";
        plot.Axes.Left.Label.Text = "latency (ms)";
        plot.ShowLegend(Edge.Right);
        plot.Title(ChartTitle);
        plot.SavePng(Path.Combine(folder, "chart-latency.png"), 1000, 520);
    }
}

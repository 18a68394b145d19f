using System.Globalization;
using System.Text;
using ScottPlot;
using Snapfn.Bench.Experiments;

namespace Snapfn.Bench.Cluster;

/// <summary>
/// The cluster experiment's figures: requests sent, answered, lost (not answered with the function's output; must be
/// 0) and served twice (an invocation id finished by more than one run in the workers' logs), latency percentiles
/// before, across and after the kill, how long the cluster kept giving requests to the dead worker, and which workers
/// fetched each snapshot from the object store against what taking it cost.
/// </summary>
public sealed class ClusterReport : IExperimentReport
{
    public ClusterReport(ClusterRun run, MachineFacts machine)
    {
        ArgumentNullException.ThrowIfNull(run);
        ArgumentNullException.ThrowIfNull(machine);
        Run = run;
        Machine = machine;
    }

    public ClusterRun Run { get; }

    public MachineFacts Machine { get; }

    public int Sent => Run.Requests.Count;

    public int Answered => Run.Requests.Count(r => r.Succeeded);

    /// <summary>Answered, but with an error (a status other than 200): counted as lost too.</summary>
    public int Failed => Run.Requests.Count(r => r.Status is not null && !r.Succeeded);

    /// <summary>Sent and never ended with the function's output: no answer in time, or an error.</summary>
    public int Lost => Sent - Answered;

    public int FrontDoorResends => Run.Requests.Sum(r => r.FrontDoorResends);

    /// <summary>Invocation ids that more than one successful run finished, over every worker's log (a request
    /// redelivered or retried after its first run had already finished on the worker that died).</summary>
    public IReadOnlyList<string> ServedTwiceIds =>
        [.. Run.Served.Where(s => s.Succeeded).GroupBy(s => s.InvocationId, StringComparer.Ordinal).Where(g => g.Count() > 1).Select(g => g.Key).Order(StringComparer.Ordinal)];

    public int ServedTwice => ServedTwiceIds.Count;

    /// <summary>How each worker's VMs of each function came to be, from its invocation log: the mode of its first
    /// invocation, and how many by mode. A worker that fetched a snapshot and restored from it shows restore modes
    /// only; <c>warm</c> (<see cref="Snapfn.Snapshots.Backends.WarmMode"/>) would be a VM booted with the runtime.</summary>
    public IReadOnlyList<(string Worker, string Function, string FirstMode, IReadOnlyDictionary<string, int> Modes)> ServedModes =>
        [.. Run.Served.Where(s => s.Mode is not null)
            .GroupBy(s => (s.Worker, s.Function))
            .OrderBy(g => g.Key.Worker, StringComparer.Ordinal).ThenBy(g => g.Key.Function, StringComparer.Ordinal)
            .Select(g => (g.Key.Worker, g.Key.Function, g.MinBy(s => s.Order)!.Mode!,
                (IReadOnlyDictionary<string, int>)g.GroupBy(s => s.Mode!, StringComparer.Ordinal).OrderBy(m => m.Key, StringComparer.Ordinal)
                    .ToDictionary(m => m.Key, m => m.Count(), StringComparer.Ordinal)))];

    /// <summary>The invocations <paramref name="worker"/> ran of <paramref name="function"/> on a VM booted with the
    /// runtime rather than restored from a snapshot.</summary>
    public int Booted(string worker, string function) =>
        Run.Served.Count(s => s.Worker == worker && s.Function == function && s.Mode == Snapfn.Snapshots.Backends.WarmMode.Name);

    /// <summary>Requests the client saw answered whose id no worker's log holds: a log not read (the note says why)
    /// or an id not passed on from the front door to the worker.</summary>
    public int AnsweredButNotLogged
    {
        get
        {
            var logged = Run.Served.Select(s => s.InvocationId).ToHashSet(StringComparer.Ordinal);
            return Run.Requests.Count(r => r.Succeeded && (r.InvocationId is null || !logged.Contains(r.InvocationId)));
        }
    }

    public int Count(InvocationKind kind, KillPhase phase) => Of(kind, phase).Count();

    /// <summary>The <paramref name="p"/>-th percentile of the answered requests' latencies (ms); NaN when none.</summary>
    public double Percentile(InvocationKind kind, KillPhase phase, double p) =>
        Stats.Percentile(Of(kind, phase).Where(r => r.Succeeded).Select(r => r.LatencyMs!.Value), p);

    private IEnumerable<ClusterRequest> Of(InvocationKind kind, KillPhase phase) =>
        Run.Requests.Where(r => r.Kind == kind && Phase(r) == phase);

    /// <summary>Without a kill, every request is before it.</summary>
    public KillPhase Phase(ClusterRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        return Run.KillMs is { } kill ? request.PhaseAgainst(kill) : KillPhase.Before;
    }

    /// <summary>
    /// How long after the kill requests still went to the dead worker: the latest send time, less the kill's, of a
    /// request the dead worker was given (its reply named it, or a retry said it had been tried first); 0 when none
    /// sent after the kill was; NaN without a kill.
    /// </summary>
    public double TimeToNoDeadWorkerMs
    {
        get
        {
            if (Run.KillMs is not { } kill || Run.KilledWorker is not { } dead)
                return double.NaN;
            var late = Run.Requests.Where(r => r.SentMs >= kill && r.Touched(dead)).Select(r => r.SentMs - kill).ToList();
            return late.Count == 0 ? 0 : late.Max();
        }
    }

    /// <summary>How long after the kill the last request the dead worker had been given was answered elsewhere
    /// (NaN when it held none, or without a kill).</summary>
    public double RecoveredAfterMs
    {
        get
        {
            if (Run.KillMs is not { } kill || Run.KilledWorker is not { } dead)
                return double.NaN;
            var answered = Run.Requests.Where(r => r.Touched(dead) && r.AnsweredMs >= kill).Select(r => r.AnsweredMs!.Value - kill).ToList();
            return answered.Count == 0 ? double.NaN : answered.Max();
        }
    }

    /// <summary>Requests the dead worker had been given that another served: retried by their front door, or
    /// redelivered by the work queue.</summary>
    public int Rerouted => Run.KilledWorker is { } dead ? Run.Requests.Count(r => r.Succeeded && r.RetriedFrom.Contains(dead) && r.Worker != dead) : 0;

    /// <summary>The fetches the replies reported (<c>Snapfn-Fetch-Ms</c>): per worker and function, the first
    /// (the one that fetched from the object store) and how many replies carried one.</summary>
    public IReadOnlyList<(string Worker, string Function, double FirstFetchMs, int Replies)> FetchesSeen =>
        [.. Run.Requests.Where(r => r.FetchMs > 0 && r.Worker is not null)
            .GroupBy(r => (Worker: r.Worker!, r.Function))
            .OrderBy(g => g.Key.Worker, StringComparer.Ordinal).ThenBy(g => g.Key.Function, StringComparer.Ordinal)
            .Select(g => (g.Key.Worker, g.Key.Function, g.OrderBy(r => r.SentMs).First().FetchMs!.Value, g.Count()))];

    /// <summary>The mean time of a worker's fetches of <paramref name="fetch"/>'s function, in ms: the histogram's sum
    /// covers every call that was not "local", the fetches and the snapshots the worker took itself.</summary>
    public static double MeanFetchMs(ReplicaFetchReading fetch)
    {
        ArgumentNullException.ThrowIfNull(fetch);
        var calls = fetch.Fetches + fetch.OwnSnapshots;
        return calls > 0 ? fetch.Seconds * 1000 / calls : double.NaN;
    }

    /// <summary>What taking <paramref name="function"/>'s snapshot cost at deploy (boot + init + write), in ms.</summary>
    public double SnapshotMs(string function) =>
        Run.Snapshots.FirstOrDefault(s => s.Function == function)?.TotalMs ?? double.NaN;

    /// <summary>The lines printed at the end and put at the top of report.md.</summary>
    public IReadOnlyList<string> SummaryLines()
    {
        var lines = new List<string>();
        // First, so that no time below is read as a measurement.
        if (Run.Cpu.Caveat is { } caveat)
            lines.Add(caveat);
        lines.Add($"requests sent {Sent}, answered {Answered}, lost {Lost}, served twice {ServedTwice}");
        if (Failed > 0)
            lines.Add($"of the lost, answered with an error: {Failed}");
        if (Run.KilledWorker is { } dead && Run.KillMs is { } kill)
        {
            lines.Add(string.Create(CultureInfo.InvariantCulture,
                $"worker {dead} SIGKILLed at {kill:0} ms; requests went to it until {ReportFormat.Figure(TimeToNoDeadWorkerMs, "0")} ms after; the last it held was answered elsewhere {ReportFormat.Figure(RecoveredAfterMs, "0")} ms after; {Rerouted} served elsewhere after it was given them; {FrontDoorResends} resent by the client because their front door was the dead worker"));
        }
        foreach (var kind in Enum.GetValues<InvocationKind>())
        {
            lines.Add(string.Create(CultureInfo.InvariantCulture,
                $"{kind.ToString().ToLowerInvariant()} p50/p99 ms: before the kill {ReportFormat.Figure(Percentile(kind, KillPhase.Before, 50), "0.0")}/{ReportFormat.Figure(Percentile(kind, KillPhase.Before, 99), "0.0")}, after {ReportFormat.Figure(Percentile(kind, KillPhase.After, 50), "0.0")}/{ReportFormat.Figure(Percentile(kind, KillPhase.After, 99), "0.0")}"));
        }
        foreach (var fetch in Run.Fetches.Where(f => f.Fetches > 0 || f.OwnSnapshots > 0))
        {
            lines.Add(FetchLine(fetch));
            if (ServedModes.FirstOrDefault(m => m.Worker == fetch.Worker && m.Function == fetch.Function) is { Modes: not null } served)
                lines.Add(ModesLine(served.Worker, served.Function, served.FirstMode, served.Modes));
        }
        foreach (var (worker, function, ms, _) in FetchesSeen)
        {
            lines.Add(string.Create(CultureInfo.InvariantCulture,
                $"{worker}'s first reply for {function} spent {ms:0} ms making it local (Snapfn-Fetch-Ms), against {ReportFormat.Figure(SnapshotMs(function), "0")} ms to take its snapshot"));
        }
        return lines;
    }

    private string ModesLine(string worker, string function, string first, IReadOnlyDictionary<string, int> modes) =>
        $"{worker} ran {function} {modes.Values.Sum()} time(s), the first in mode {first}; by mode: {string.Join(", ", modes.Select(m => $"{m.Key} {m.Value}"))}; " +
        (Booted(worker, function) is var booted and > 0 ? $"{booted} on a VM booted with the runtime" : "none booted the runtime (every VM restored from the snapshot)");

    private string FetchLine(ReplicaFetchReading f) => string.Create(CultureInfo.InvariantCulture,
        $"{f.Worker} fetched {f.Function}'s snapshot from the object store: {f.Chunks} chunks, {f.Bytes / 1048576.0:0.0} MiB in {ReportFormat.Figure(MeanFetchMs(f), "0")} ms, against {ReportFormat.Figure(SnapshotMs(f.Function), "0")} ms to take it")
        + (f.OwnSnapshots > 0 ? $"; took its own {f.OwnSnapshots} time(s) (its CPU could not run the published one)" : "");

    public void WriteJson(string path, string commandLine, bool interrupted, int repeat)
    {
        var phases = Enum.GetValues<KillPhase>();
        var document = new
        {
            cpu = Run.Cpu.Name,
            caveat = Run.Cpu.Caveat,
            settings = new
            {
                Run.Settings.NatsNodes,
                Run.Settings.Workers,
                Run.Settings.Functions,
                Run.Settings.Requests,
                Run.Settings.Clients,
                Run.Settings.AsyncEvery,
                KillAfter = Run.Settings.KillAfter,
                RequestTimeoutS = Run.Settings.RequestTimeout.TotalSeconds,
                // The experiment's own timeouts on guest work against KVM's (the emulated CPU's are scaled).
                Run.Settings.TimeoutScale,
                PollIntervalMs = Run.Settings.PollInterval.TotalMilliseconds,
            },
            summary = new
            {
                sent = Sent,
                answered = Answered,
                lost = Lost,
                failed = Failed,
                served_twice = ServedTwice,
                served_twice_ids = ServedTwiceIds,
                answered_but_not_logged = AnsweredButNotLogged,
                killed_worker = Run.KilledWorker,
                kill_ms = Run.KillMs,
                time_to_no_dead_worker_ms = ReportFormat.Finite(TimeToNoDeadWorkerMs),
                recovered_after_ms = ReportFormat.Finite(RecoveredAfterMs),
                rerouted = Rerouted,
                front_door_resends = FrontDoorResends,
                latency_ms = Enum.GetValues<InvocationKind>().ToDictionary(k => k.ToString().ToLowerInvariant(), k => phases.ToDictionary(
                    p => p.ToString().ToLowerInvariant(),
                    p => new { count = Count(k, p), p50 = ReportFormat.Finite(Percentile(k, p, 50)), p99 = ReportFormat.Finite(Percentile(k, p, 99)) })),
            },
            workers = Run.WorkerIds,
            snapshots = Run.Snapshots.Select(s => new { s.Function, s.Worker, s.BootMs, s.InitMs, s.WriteMs, total_ms = s.TotalMs }),
            fetches_seen_in_replies = FetchesSeen.Select(f => new { f.Worker, f.Function, first_fetch_ms = f.FirstFetchMs, f.Replies }),
            served_modes = ServedModes.Select(m => new { m.Worker, m.Function, first_mode = m.FirstMode, m.Modes, booted = Booted(m.Worker, m.Function) }),
            fetches = Run.Fetches.Select(f => new { f.Worker, f.Function, f.Fetches, f.Chunks, f.Bytes, f.Seconds, mean_fetch_ms = ReportFormat.Finite(MeanFetchMs(f)), f.OwnSnapshots }),
            notes = Run.Notes,
            requests = Run.Requests,
            served = Run.Served,
        };
        ReportFormat.WriteJson(path, "cluster", commandLine, interrupted, Machine, document);
    }

    public string Markdown(string commandLine, bool interrupted, int repeat)
    {
        var md = new StringBuilder();
        ReportFormat.Preamble(md, "Snapfn benchmark: three workers on a NATS JetStream cluster, one SIGKILLed mid-burst" + (Run.Cpu.Emulated ? " (emulated CPU: a trial)" : ""),
            commandLine, interrupted, Machine);
        if (Run.Cpu.Caveat is { } caveat)
            md.AppendLine(CultureInfo.InvariantCulture, $"- **{caveat}**");
        if (Run.Settings.TimeoutScale != 1)
            md.AppendLine(CultureInfo.InvariantCulture, $"- the experiment's own timeouts on guest work are {Run.Settings.TimeoutScale}x KVM's on this CPU: a request is lost after {Run.Settings.RequestTimeout.TotalSeconds:0} s");
        var s = Run.Settings;
        md.AppendLine(CultureInfo.InvariantCulture,
            $"- {s.NatsNodes} nats-servers and {s.Workers} workers (`snapfn serve --nats`) on loopback, each with its own SNAPFN_HOME; {string.Join(", ", s.Functions)} deployed through {(Run.WorkerIds.Count > 0 ? Run.WorkerIds[0] : "the first worker")}; {s.Requests} requests from {s.Clients} clients through the front doors in turn, one in {s.AsyncEvery} asynchronous; {Run.KilledWorker ?? "no worker"} SIGKILLed after {s.KillAfter} were sent (then its front door is skipped, as a load balancer's health check would)");
        md.AppendLine("- lost: sent and not answered with the function's output (no answer within the timeout, or an error); served twice: an invocation id that more than one run finished, over every worker's invocation log (the dead worker's read from its SNAPFN_HOME after the run)");
        md.AppendLine();
        md.AppendLine("## Summary");
        md.AppendLine();
        foreach (var line in SummaryLines())
            md.AppendLine(CultureInfo.InvariantCulture, $"- {line}");
        md.AppendLine();
        md.AppendLine("## Latency (ms): before the kill, in flight across it, sent after it");
        md.AppendLine();
        md.AppendLine("| kind | phase | requests | p50 | p99 |");
        md.AppendLine("|---|---|---:|---:|---:|");
        foreach (var kind in Enum.GetValues<InvocationKind>())
        {
            foreach (var phase in Enum.GetValues<KillPhase>())
            {
                md.AppendLine(CultureInfo.InvariantCulture,
                    $"| {kind.ToString().ToLowerInvariant()} | {phase.ToString().ToLowerInvariant()} | {Count(kind, phase)} | {ReportFormat.Figure(Percentile(kind, phase, 50), "0.0")} | {ReportFormat.Figure(Percentile(kind, phase, 99), "0.0")} |");
            }
        }
        md.AppendLine();
        md.AppendLine("## Snapshots: taken once, fetched by the others");
        md.AppendLine();
        md.AppendLine("| function | taken on | boot + init + write (ms) | fetched by | chunks | MiB | fetch (ms) |");
        md.AppendLine("|---|---|---:|---|---:|---:|---:|");
        foreach (var snapshot in Run.Snapshots)
        {
            var fetches = Run.Fetches.Where(f => f.Function == snapshot.Function && (f.Fetches > 0 || f.OwnSnapshots > 0)).ToList();
            if (fetches.Count == 0)
                md.AppendLine(CultureInfo.InvariantCulture, $"| {snapshot.Function} | {snapshot.Worker} | {snapshot.TotalMs:0} | none | | | |");
            foreach (var f in fetches)
            {
                md.AppendLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {snapshot.Function} | {snapshot.Worker} | {snapshot.TotalMs:0} | {f.Worker}{(f.OwnSnapshots > 0 ? " (took its own)" : "")} | {f.Chunks} | {f.Bytes / 1048576.0:0.0} | {ReportFormat.Figure(MeanFetchMs(f), "0")} |"));
            }
        }
        md.AppendLine();
        if (Run.Notes.Count > 0)
        {
            md.AppendLine("## Notes");
            md.AppendLine();
            foreach (var note in Run.Notes)
                md.AppendLine(CultureInfo.InvariantCulture, $"- {note}");
            md.AppendLine();
        }
        var lost = Run.Requests.Where(r => !r.Succeeded).ToList();
        if (lost.Count > 0)
        {
            md.AppendLine(CultureInfo.InvariantCulture, $"## Lost requests: {lost.Count}");
            md.AppendLine();
            foreach (var r in lost.Take(20))
                md.AppendLine(CultureInfo.InvariantCulture, $"- #{r.Sequence} {r.Function} {r.Kind.ToString().ToLowerInvariant()} through {Run.WorkerIds.ElementAtOrDefault(r.FrontDoor) ?? r.FrontDoor.ToString(CultureInfo.InvariantCulture)}: {(r.Status is { } status ? $"HTTP {status}" : "no answer")}{(r.Error is null ? "" : $", {r.Error}")}");
            md.AppendLine();
        }
        md.AppendLine("Chart: `chart-latency.png`, each request's latency against the time it was sent, the kill marked.");
        return md.ToString();
    }

    /// <summary>The chart's title: on the emulated CPU it says the latencies are the emulator's, so that the chart
    /// cannot be read alone as a measurement.</summary>
    public string ChartTitle => Run.Cpu.Emulated
        // First, and short enough for the chart's width (a longer title is cut at both ends).
        ? "EMULATED CPU, not a measurement: latency per request, a worker killed"
        : "cluster: latency of each request, one worker killed";

    public void WriteCharts(string folder)
    {
        var plot = new Plot();
        foreach (var kind in Enum.GetValues<InvocationKind>())
        {
            var answered = Run.Requests.Where(r => r.Kind == kind && r.Succeeded).ToArray();
            if (answered.Length == 0)
                continue;
            var points = plot.Add.ScatterPoints(answered.Select(r => r.SentMs / 1000).ToArray(), answered.Select(r => r.LatencyMs!.Value).ToArray());
            points.LegendText = kind.ToString().ToLowerInvariant();
        }
        if (Run.KillMs is { } kill)
        {
            var line = plot.Add.VerticalLine(kill / 1000);
            line.LegendText = $"{Run.KilledWorker} killed";
            line.LinePattern = LinePattern.Dashed;
        }
        plot.Axes.Bottom.Label.Text = "sent at (s since the burst started)";
        plot.Axes.Left.Label.Text = "latency (ms)";
        plot.ShowLegend(Edge.Right);
        plot.Title(ChartTitle);
        plot.SavePng(Path.Combine(folder, "chart-latency.png"), 900, 480);
    }
}

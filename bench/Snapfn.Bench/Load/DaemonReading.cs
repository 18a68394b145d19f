using Snapfn.Bench.Cluster;

namespace Snapfn.Bench.Load;

/// <summary>
/// What the daemon's <c>/metrics</c> says about one function at one moment: its cold starts by path, its idle VMs
/// stopped by reason, its requests refused with 429, its queue waits (sum and count), its VMs by state and its
/// recordings by mode and outcome (the automatic ones included). Read twice per level, the difference is what the
/// level did (<see cref="Since"/>).
/// </summary>
public sealed record DaemonReading
{
    public IReadOnlyDictionary<string, double> ColdStarts { get; init; } = new Dictionary<string, double>();
    public IReadOnlyDictionary<string, double> Evictions { get; init; } = new Dictionary<string, double>();
    public double Throttled { get; init; }
    public double QueueWaitSeconds { get; init; }
    public double QueueWaits { get; init; }
    /// <summary>Gauges (busy, idle, queued): the value when read, not a difference.</summary>
    public IReadOnlyDictionary<string, double> Instances { get; init; } = new Dictionary<string, double>();
    /// <summary>By "mode/outcome" (faasnap/ok, reap/error, …).</summary>
    public IReadOnlyDictionary<string, double> Recordings { get; init; } = new Dictionary<string, double>();

    public double Instance(string state) => Instances.GetValueOrDefault(state);

    /// <summary>The mean queue wait of the invocations counted, in ms; NaN when none was.</summary>
    public double MeanQueueWaitMs => QueueWaits > 0 ? QueueWaitSeconds * 1000 / QueueWaits : double.NaN;

    /// <summary>Reads <paramref name="function"/>'s figures from a <c>/metrics</c> page; a metric the page lacks
    /// reads as 0, so that an older daemon is measured for what it has.</summary>
    public static DaemonReading Parse(string text, string function)
    {
        var samples = PrometheusText.Parse(text).Where(s => s.Labels.TryGetValue("function", out var f) && f == function).ToList();
        IReadOnlyDictionary<string, double> By(string metric, Func<MetricSample, string?> key) =>
            samples.Where(s => s.Name == metric && key(s) is not null).GroupBy(s => key(s)!, StringComparer.Ordinal)
                .ToDictionary(g => g.Key, g => g.Sum(s => s.Value), StringComparer.Ordinal);
        double One(string metric) => samples.Where(s => s.Name == metric).Sum(s => s.Value);
        string? Label(MetricSample s, string name) => s.Labels.GetValueOrDefault(name);
        return new DaemonReading
        {
            ColdStarts = By("snapfn_cold_starts_total", s => Label(s, "path")),
            Evictions = By("snapfn_instance_evictions_total", s => Label(s, "reason")),
            Throttled = One("snapfn_throttled_total"),
            QueueWaitSeconds = One("snapfn_queue_wait_seconds_sum"),
            QueueWaits = One("snapfn_queue_wait_seconds_count"),
            Instances = By("snapfn_instances", s => Label(s, "state")),
            Recordings = By("snapfn_recordings_total", s => Label(s, "mode") is { } mode && Label(s, "outcome") is { } outcome ? $"{mode}/{outcome}" : null),
        };
    }

    /// <summary>The counters' growth since <paramref name="before"/>; the instances as read now.</summary>
    public DaemonReading Since(DaemonReading before)
    {
        ArgumentNullException.ThrowIfNull(before);
        static IReadOnlyDictionary<string, double> Minus(IReadOnlyDictionary<string, double> now, IReadOnlyDictionary<string, double> then) =>
            now.Keys.Concat(then.Keys).Distinct(StringComparer.Ordinal)
                .Select(k => (Key: k, Value: now.GetValueOrDefault(k) - then.GetValueOrDefault(k)))
                .Where(p => p.Value != 0)
                .ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal);
        return this with
        {
            ColdStarts = Minus(ColdStarts, before.ColdStarts),
            Evictions = Minus(Evictions, before.Evictions),
            Throttled = Throttled - before.Throttled,
            QueueWaitSeconds = QueueWaitSeconds - before.QueueWaitSeconds,
            QueueWaits = QueueWaits - before.QueueWaits,
            Recordings = Minus(Recordings, before.Recordings),
        };
    }
}

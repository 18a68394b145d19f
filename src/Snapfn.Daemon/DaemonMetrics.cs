using Prometheus;
using Snapfn.Platform;
using Snapfn.Snapshots.Backends;

namespace Snapfn.Daemon;

/// <summary>
/// What GET /metrics shows: invocations and errors, latency histograms per function and mode, and the guest
/// pages each mode brought in, by source. A registry of its own per daemon, so two daemons in one process (the
/// tests) do not share counters.
/// </summary>
public sealed class DaemonMetrics
{
    private readonly Counter _invocations;
    private readonly Counter _errors;
    private readonly Histogram _latency;
    private readonly Histogram _restore;
    private readonly Histogram _execute;
    private readonly Counter _pages;
    private readonly Gauge _inFlight;
    private readonly Counter _snapshots;
    private readonly Counter _recordings;
    private readonly Counter _coldStarts;
    private readonly Histogram _queueWait;
    private readonly Counter _throttled;
    private readonly Counter _evictions;
    private readonly Gauge _instances;
    private readonly Counter _replicaFetches;
    private readonly Counter _replicaChunks;
    private readonly Counter _replicaBytes;
    private readonly Histogram _replicaSeconds;
    private static readonly string[] _states = ["busy", "idle", "queued"];

    public DaemonMetrics()
    {
        Registry = Metrics.NewCustomRegistry();
        var factory = Metrics.WithCustomRegistry(Registry);
        // 50 us to ~26 s: a warm invocation is tens of microseconds, a cold restore of a big function seconds.
        var buckets = Histogram.ExponentialBuckets(0.00005, 2, 20);
        _invocations = factory.CreateCounter("snapfn_invocations_total", "Invocations finished, by function, mode and outcome (ok or error).",
            ["function", "mode", "outcome"]);
        _errors = factory.CreateCounter("snapfn_invocation_errors_total", "Invocations that failed, by function, mode and error.",
            ["function", "mode", "error"]);
        _latency = factory.CreateHistogram("snapfn_invocation_duration_seconds", "Invocation latency inside the daemon, queueing included.",
            ["function", "mode"], new HistogramConfiguration { Buckets = buckets });
        _restore = factory.CreateHistogram("snapfn_restore_duration_seconds", "From the start of an invocation to the guest's first instruction.",
            ["function", "mode"], new HistogramConfiguration { Buckets = buckets });
        _execute = factory.CreateHistogram("snapfn_execute_duration_seconds", "From the guest's first instruction to its result.",
            ["function", "mode"], new HistogramConfiguration { Buckets = buckets });
        _pages = factory.CreateCounter("snapfn_pages_total",
            "Guest pages brought in by the restore mode's own machinery, by source (uffd: served on fault from the memory file; " +
            "reap_prefetch: installed before the vCPU starts; faasnap_loader: read by the loader thread). Kernel demand paging is not counted.",
            ["function", "mode", "source"]);
        _inFlight = factory.CreateGauge("snapfn_invocations_in_flight", "Invocations running or waiting for a slot.");
        _snapshots = factory.CreateCounter("snapfn_snapshots_total", "Snapshots taken, by function and outcome.", ["function", "outcome"]);
        _recordings = factory.CreateCounter("snapfn_recordings_total", "Recordings made, by function, mode and outcome.", ["function", "mode", "outcome"]);
        _coldStarts = factory.CreateCounter("snapfn_cold_starts_total",
            "Invocations that restored (or booted) a VM, by function and the path that served them (cold-faasnap, cold-reap, cold-cached, cold-vanilla, mode-MODE).",
            ["function", "path"]);
        _queueWait = factory.CreateHistogram("snapfn_queue_wait_seconds", "How long an invocation waited for an instance of its function (max_instances).",
            ["function"], new HistogramConfiguration { Buckets = buckets });
        _throttled = factory.CreateCounter("snapfn_throttled_total", "Invocations refused with 429: the function ran its max_instances and its queue was full or the wait too long.",
            ["function"]);
        _evictions = factory.CreateCounter("snapfn_instance_evictions_total",
            "Idle VMs stopped, by function and reason (keep_alive: idle too long; memory: the host memory budget needed room, least recently used first; changed: redeployed; replaced: room for a new VM).",
            ["function", "reason"]);
        _instances = factory.CreateGauge("snapfn_instances", "VMs of each function now, by state (busy: running a request; idle: kept for the next; queued: requests waiting).",
            ["function", "state"]);
        // In a cluster (--nats): this worker making functions local that another node deployed (docs/cluster.md).
        _replicaFetches = factory.CreateCounter("snapfn_cluster_replica_fetches_total",
            "Times this worker made a function local before running it, by outcome (fetched: chunks came from the object store; own_snapshot: this CPU " +
            "could not run the published snapshot, so it took its own; local: it held the current version already).", ["function", "outcome"]);
        _replicaChunks = factory.CreateCounter("snapfn_cluster_replica_fetch_chunks_total", "Chunks of functions' artifacts fetched from the object store.", ["function"]);
        _replicaBytes = factory.CreateCounter("snapfn_cluster_replica_fetch_bytes_total", "Bytes of functions' artifacts fetched from the object store.", ["function"]);
        // 1 ms to ~9 min: a fetch of a small function from a nearby server is milliseconds, a snapshot of its own seconds.
        _replicaSeconds = factory.CreateHistogram("snapfn_cluster_replica_fetch_seconds",
            "How long making a function local took, when this worker did not hold it (fetched or own_snapshot).", ["function"],
            new HistogramConfiguration { Buckets = Histogram.ExponentialBuckets(0.001, 2, 20) });
    }

    /// <summary>Counts one <see cref="Cluster.IFunctionReplicas.EnsureLocalAsync"/> of this worker.</summary>
    public void ReplicaFetched(string function, Cluster.ReplicaFetch fetch)
    {
        ArgumentNullException.ThrowIfNull(fetch);
        var outcome = fetch.Joined ? "joined" : fetch.TookOwnSnapshot ? "own_snapshot" : fetch.AlreadyLocal ? "local" : "fetched";
        _replicaFetches.WithLabels(function, outcome).Inc();
        // A call that waited on another's run: its chunks, bytes and time are that call's, counted once there.
        if (fetch.Joined || (fetch.AlreadyLocal && !fetch.TookOwnSnapshot))
            return;
        _replicaChunks.WithLabels(function).Inc(fetch.ChunksFetched);
        _replicaBytes.WithLabels(function).Inc(fetch.BytesFetched);
        _replicaSeconds.WithLabels(function).Observe(fetch.Elapsed.TotalSeconds);
    }

    /// <summary>Counts <paramref name="instances"/>' evictions, and reads its instance counts at each scrape.</summary>
    public void Watch<TInstance>(InstancePool<TInstance> instances) where TInstance : class, IDisposable
    {
        ArgumentNullException.ThrowIfNull(instances);
        instances.Evicted += (function, reason) => _evictions.WithLabels(function, ReasonName(reason)).Inc();
        var shown = new HashSet<string>(StringComparer.Ordinal);
        Registry.AddBeforeCollectCallback(() =>
        {
            var counts = instances.Counts();
            // A function gone from the pool (scaled to zero) shows zeros rather than its last counts.
            foreach (var function in shown.Where(f => !counts.ContainsKey(f)).ToList())
            {
                foreach (var state in _states)
                    _instances.WithLabels(function, state).Set(0);
            }
            foreach (var (function, count) in counts)
            {
                _instances.WithLabels(function, "busy").Set(count.Busy);
                _instances.WithLabels(function, "idle").Set(count.Idle);
                _instances.WithLabels(function, "queued").Set(count.Queued);
                shown.Add(function);
            }
        });
    }

    private static string ReasonName(EvictionReason reason) => reason switch
    {
        EvictionReason.KeepAlive => "keep_alive",
        EvictionReason.Memory => "memory",
        EvictionReason.Changed => "changed",
        _ => "replaced",
    };

    public void Throttled(string function) => _throttled.WithLabels(function).Inc();

    public CollectorRegistry Registry { get; }

    public IDisposable TrackInFlight()
    {
        _inFlight.Inc();
        return new Decrement(_inFlight);
    }

    public void Succeeded(InvocationResult result, double seconds)
    {
        ArgumentNullException.ThrowIfNull(result);
        _invocations.WithLabels(result.Function, result.Mode, "ok").Inc();
        _latency.WithLabels(result.Function, result.Mode).Observe(seconds);
        _restore.WithLabels(result.Function, result.Mode).Observe(result.RestoreMs / 1000);
        _execute.WithLabels(result.Function, result.Mode).Observe(result.ExecuteMs / 1000);
        _queueWait.WithLabels(result.Function).Observe(result.QueueMs / 1000);
        if (result.Path is { } path && path != ServePath.Kept.Name && path != ServePath.Override(WarmMode.Name).Name)
            _coldStarts.WithLabels(result.Function, path).Inc();
        // The counters that count pages are the ones the mode says do, with the source label it gives them.
        if (!RestoreModes.TryGet(result.Mode, out var mode))
            return;
        foreach (var counter in mode.Counters.Where(c => c.Source is not null && c.PagesPerUnit > 0))
        {
            if (result.Counters.TryGetValue(counter.Name, out var value) && value > 0)
                _pages.WithLabels(result.Function, result.Mode, counter.Source!).Inc(Math.Floor(value * counter.PagesPerUnit));
        }
    }

    /// <param name="path">The path chosen for it; empty when it failed before one was.</param>
    public void Failed(string function, string mode, string path, string error, double seconds)
    {
        if (path.Length > 0 && path != ServePath.Kept.Name && path != ServePath.Override(WarmMode.Name).Name)
            _coldStarts.WithLabels(function, path).Inc();
        _invocations.WithLabels(function, mode, "error").Inc();
        _errors.WithLabels(function, mode, error).Inc();
        _latency.WithLabels(function, mode).Observe(seconds);
    }

    public void Snapshot(string function, bool ok) => _snapshots.WithLabels(function, ok ? "ok" : "error").Inc();

    public void Recording(string function, string mode, bool ok) => _recordings.WithLabels(function, mode, ok ? "ok" : "error").Inc();

    private sealed class Decrement(Gauge gauge) : IDisposable
    {
        public void Dispose() => gauge.Dec();
    }
}

namespace Snapfn.Bench.Cluster;

/// <summary>How a request of the burst was sent: answered in the request (sync), or accepted with an id whose result
/// is fetched later (async: POST …/invoke?async=1 → 202, GET /invocations/{id} → 202 pending, 200 result).</summary>
public enum InvocationKind
{
    Sync,
    Async,
}

/// <summary>Where a request stood against the kill: answered before it, sent before and answered after it (in flight
/// when the worker died), or sent after it.</summary>
public enum KillPhase
{
    Before,
    Across,
    After,
}

/// <summary>
/// One request of the burst as the client saw it. Times are milliseconds since the burst started (one clock for all).
/// <see cref="Worker"/> is the reply's <c>Snapfn-Worker</c> header (the worker that ran it); <see cref="RetriedFrom"/>
/// the workers that were given it first and did not answer (<c>Snapfn-Retried-From</c>); <see cref="FrontDoorResends"/>
/// how often the client sent it again through another node because its front door's connection was cut (the front
/// door itself was the worker killed); <see cref="FetchMs"/> the reply's <c>Snapfn-Fetch-Ms</c>, the time the worker spent
/// making the function local (fetching it from the object store) before this run, when it did.
/// </summary>
public sealed record ClusterRequest(
    int Sequence,
    string Function,
    InvocationKind Kind,
    int FrontDoor,
    double SentMs,
    double? AnsweredMs,
    int? Status,
    string? InvocationId,
    string? Worker,
    IReadOnlyList<string> RetriedFrom,
    int FrontDoorResends = 0,
    string? Error = null,
    double? FetchMs = null)
{
    /// <summary>The request ended with its function's output: HTTP 200 with an answer time.</summary>
    public bool Succeeded => Status == 200 && AnsweredMs is not null;

    /// <summary>From the first send to the answer (async: to the poll that saw the result).</summary>
    public double? LatencyMs => AnsweredMs is { } answered ? answered - SentMs : null;

    /// <summary>The dead worker ran it or was given it (before it died, or before the cluster knew).</summary>
    public bool Touched(string worker) => Worker == worker || RetriedFrom.Contains(worker);

    public KillPhase PhaseAgainst(double killMs) =>
        SentMs >= killMs ? KillPhase.After : AnsweredMs is { } answered && answered < killMs ? KillPhase.Before : KillPhase.Across;
}

/// <summary>One finished invocation in a worker's invocation log (its SNAPFN_HOME's registry), read after the run:
/// what the workers did, as against what the client saw. <paramref name="Mode"/> is how the VM came to be (a restore
/// mode, or <c>warm</c>: a VM booted with the runtime); <paramref name="Order"/> its place in that worker's log.</summary>
public sealed record ServedInvocation(string Worker, string InvocationId, string Function, bool Succeeded, string? Mode = null, long Order = 0);

/// <summary>What one worker did to hold a function it had not deployed, as its <c>/metrics</c> said (see
/// docs/cluster.md): fetched from the object store, or took its own snapshot (a CPU that cannot run the published one).</summary>
public sealed record ReplicaFetchReading(string Worker, string Function, long Fetches, long Chunks, long Bytes, double Seconds, long OwnSnapshots);

/// <summary>The snapshot taken once, at deploy, on the node the functions were deployed through (the deploy response's
/// boot, init and write times).</summary>
public sealed record SnapshotTaken(string Function, string Worker, double BootMs, double InitMs, double WriteMs)
{
    public double TotalMs => BootMs + InitMs + WriteMs;
}

namespace Snapfn.Cluster.Serving;

/// <summary>
/// The headers of an invocation over NATS. A request (to <c>snapfn.invoke.FN</c> or a worker's own
/// <c>snapfn.worker.ID.invoke.FN</c>) carries the invocation id, an optional mode, the timeout and the attempt; its
/// body is the input. On the request's reply subject the worker sends <c>accepted</c> when it takes the request,
/// <c>running</c> every heartbeat interval while it runs, then <c>done</c> with the answer (<see cref="WorkerAnswer"/>).
/// </summary>
public static class WireHeaders
{
    // Request.
    public const string InvocationId = "Snapfn-Invocation-Id";
    public const string RequestMode = "Snapfn-Request-Mode";
    public const string Cold = "Snapfn-Cold";
    public const string TimeoutMs = "Snapfn-Timeout-Ms";
    public const string Attempt = "Snapfn-Attempt";
    /// <summary>Comma-separated ids of the workers that refused this request for now (busy, or at max_instances:
    /// nothing ran); a worker named there declines it at once, so that the queue group's next choice is tried.</summary>
    public const string RefusedBy = "Snapfn-Refused-By";

    // Reply.
    public const string Reply = "Snapfn-Reply";
    public const string Accepted = "accepted";
    public const string Running = "running";
    public const string Done = "done";
    public const string Worker = "Snapfn-Worker";
    public const string Outcome = "Snapfn-Outcome";
    public const string Function = "Snapfn-Function";
    public const string Path = "Snapfn-Path";
    public const string Mode = "Snapfn-Mode";
    public const string QueueMs = "Snapfn-Queue-Ms";
    public const string RestoreMs = "Snapfn-Restore-Ms";
    public const string ExecuteMs = "Snapfn-Execute-Ms";
    public const string TotalMs = "Snapfn-Total-Ms";
    public const string FetchMs = "Snapfn-Fetch-Ms";
    /// <summary>Comma-separated ids of the workers that took the invocation before and vanished without answering.</summary>
    public const string RetriedFrom = "Snapfn-Retried-From";
    public const string CachedPages = "Snapfn-Cached-Pages";
    public const string ColdStart = "Snapfn-Cold-Start";
    public const string Degraded = "Snapfn-Degraded";

    /// <summary>A stored entry that is not an answer yet: the front door's marker that it accepted the id.</summary>
    public const string State = "Snapfn-State";
}

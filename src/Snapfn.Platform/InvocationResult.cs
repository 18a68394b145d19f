namespace Snapfn.Platform;

/// <summary>One invocation restored from a snapshot (or served warm), with its timings and the mode's counters.</summary>
public sealed record InvocationResult
{
    public required string Function { get; init; }
    public required string Mode { get; init; }
    public required byte[] Output { get; init; }
    /// <summary>From the start of the invocation to the guest's first instruction.</summary>
    public required double RestoreMs { get; init; }
    /// <summary>From the first instruction to RESULT.</summary>
    public required double ExecuteMs { get; init; }
    public required double TotalMs { get; init; }
    /// <summary>Stopwatch timestamps of the start of the restore and of RESULT (0 for warm runs): where concurrent
    /// invocations are measured together, their span.</summary>
    public long StartedAt { get; init; }
    public long StoppedAt { get; init; }
    /// <summary>How many pages of the mode's files were in the page cache just before the invocation.</summary>
    public required long CachedPagesBefore { get; init; }
    public required IReadOnlyDictionary<string, double> Counters { get; init; }
    /// <summary>KiB of file pages mapped with 2 MiB huge pages at the end of the run; null when not sampled.</summary>
    public long? FilePmdMappedKb { get; init; }
    /// <summary>The path that served it (<see cref="ServePath.Name"/>: kept, cold-faasnap, mode-vanilla, ...); null for a
    /// run that did not go through the <see cref="FunctionServer"/> (the bench's own invoker).</summary>
    public string? Path { get; init; }
    /// <summary>How long the request waited for an instance of its function (0 when one was free).</summary>
    public double QueueMs { get; init; }
    /// <summary>Its id in the invocation log; null for a run that was not logged.</summary>
    public long? InvocationId { get; init; }
    /// <summary>Why the run is not what its mode claims (a helper failed; a cold run's files were cached); null when it is.</summary>
    public string? Degraded { get; init; }
}

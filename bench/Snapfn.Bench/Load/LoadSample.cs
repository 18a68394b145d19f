namespace Snapfn.Bench.Load;

/// <summary>How a request of the load experiment ended, as the report counts it.</summary>
public enum LoadOutcome
{
    /// <summary>200: the function's output.</summary>
    Ok,

    /// <summary>429: the function ran its max_instances and its queue was full or the wait too long.</summary>
    Throttled,

    /// <summary>Any other status, or no answer (connection lost, no answer within the request timeout).</summary>
    Error,
}

/// <summary>
/// One request as the client saw it: which level and client sent it, when (ms since the run's first level started,
/// so that the levels form one timeline), how long its answer took, its status (null: none came), the path that
/// served it (<c>Snapfn-Path</c>) and its wait in the function's queue (<c>Snapfn-Queue-Ms</c>), whether it was
/// sent during the level's warm-up, and what went wrong when something did.
/// </summary>
public sealed record LoadSample(int Clients, int Client, double SentMs, double LatencyMs, int? Status, string? Path, double? QueueMs, bool Warmup,
    string? Error = null)
{
    public LoadOutcome Outcome => Status switch
    {
        200 => LoadOutcome.Ok,
        429 => LoadOutcome.Throttled,
        _ => LoadOutcome.Error,
    };

    public double AnsweredMs => SentMs + LatencyMs;

    /// <summary>What a 429 asked the client to wait (Retry-After).</summary>
    public TimeSpan? RetryAfter { get; init; }

    /// <summary>The request in a line, for a note: its status and its error, or why no answer came.</summary>
    public string Describe() => Status is { } status ? $"HTTP {status}" + (Error is null ? "" : ": " + Error) : Error ?? "no answer";
}

/// <summary>One level's requests: its clients, its measured window (ms on the run's timeline: from the end of the
/// warm-up to the time after which no client sends), and why it stopped early, if it did.</summary>
public sealed record LoadLevelSamples(int Clients, double WindowStartMs, double WindowEndMs, IReadOnlyList<LoadSample> Samples, string? StoppedEarly = null);

using Snapfn.Platform.Errors;

namespace Snapfn.Platform;

/// <summary>
/// A request for a function that already runs its <c>max_instances</c> VMs, when its queue is full or the request
/// waited there its whole bound: the function is at its capacity for now, and the same request may succeed after
/// <see cref="RetryAfter"/> (HTTP: 429 with Retry-After). The message names the limit and how to raise it.
/// </summary>
public sealed class FunctionThrottledException : Exception, IClassifiedError, IRetryAfter
{
    public FunctionThrottledException(string limit, string message, string howToRaise, TimeSpan retryAfter)
        : base($"{message} (limit '{limit}'; {howToRaise})")
    {
        Limit = limit;
        RetryAfter = retryAfter;
    }

    public FunctionThrottledException() { }

    public FunctionThrottledException(string message) : base(message) { }

    public FunctionThrottledException(string message, Exception innerException) : base(message, innerException) { }

    /// <summary>"max-instances" (the queue was full) or "queue-wait" (the request waited its bound).</summary>
    public string Limit { get; } = "";

    public TimeSpan? RetryAfter { get; }

    public ErrorCode Code => ErrorCode.TooManyRequests;

    public ErrorRemedy? Remedy => ErrorRemedy.Retry;
}

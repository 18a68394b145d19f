namespace Snapfn.Platform;

/// <summary>
/// A request or a guest asked the host to hold more than one of Snapfn's documented limits allows (guest memory
/// per VM, the host's memory budget for VMs, pooled shells, /tmp per VM, channel frames, error text, package
/// lists, concurrent deploys). It names the limit, its value and how to raise it, so that the message is the
/// remedy. The limits and their defaults are listed in docs/limits.md.
/// </summary>
public sealed class LimitExceededException : Exception, Errors.IRetryAfter
{
    public LimitExceededException(string limit, string message, string howToRaise)
        : base($"{message} (limit '{limit}'; {howToRaise})")
    {
        Limit = limit;
        HowToRaise = howToRaise;
    }

    /// <param name="retryAfter">Set for a limit the host is at for now (the host memory budget), not one the
    /// request itself is over: the same request may succeed after this long (HTTP: 503 with Retry-After).</param>
    public LimitExceededException(string limit, string message, string howToRaise, TimeSpan retryAfter)
        : this(limit, message, howToRaise)
    {
        RetryAfter = retryAfter;
    }

    public LimitExceededException() { }

    public LimitExceededException(string message) : base(message) { }

    public LimitExceededException(string message, Exception innerException) : base(message, innerException) { }

    /// <summary>The limit's stable name, as docs/limits.md lists it (e.g. "guest-memory-per-vm").</summary>
    public string Limit { get; } = "";

    /// <summary>The option, setting or variable that raises it, in words.</summary>
    public string HowToRaise { get; } = "";

    /// <summary>Set for a capacity the host is at for now (the host memory budget, concurrent deploys), not a limit
    /// the request itself is over: the same request may succeed when sent again after this long (HTTP: 503 with
    /// Retry-After). Null for a limit the request exceeds whatever else runs.</summary>
    public TimeSpan? RetryAfter { get; init; }
}

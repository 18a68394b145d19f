namespace Snapfn.Platform;

/// <summary>
/// A request or a guest asked the host to hold more than one of Snapfn's documented limits allows (guest memory
/// per VM, the host's memory budget for VMs, pooled shells, /tmp per VM, channel frames, error text, package
/// lists, concurrent deploys). It names the limit, its value and how to raise it, so that the message is the
/// remedy. The limits and their defaults are listed in docs/limits.md.
/// </summary>
public sealed class LimitExceededException : Exception
{
    public LimitExceededException(string limit, string message, string howToRaise)
        : base($"{message} (limit '{limit}'; {howToRaise})")
    {
        Limit = limit;
        HowToRaise = howToRaise;
    }

    public LimitExceededException() { }

    public LimitExceededException(string message) : base(message) { }

    public LimitExceededException(string message, Exception innerException) : base(message, innerException) { }

    /// <summary>The limit's stable name, as docs/limits.md lists it (e.g. "guest-memory-per-vm").</summary>
    public string Limit { get; } = "";

    /// <summary>The option, setting or variable that raises it, in words.</summary>
    public string HowToRaise { get; } = "";

    /// <summary>Set when the limit is a capacity that frees up by itself (concurrent deploys): the same request may
    /// succeed when sent again after this long. Null for a limit the request itself exceeds.</summary>
    public TimeSpan? RetryAfter { get; init; }
}

namespace Snapfn.Platform;

/// <summary>How the platform serves invocations: instances per function, their queue, and how long idle ones are
/// kept (docs/limits.md, "Instances and scaling").</summary>
public sealed record ServingOptions
{
    public const int DefaultMaxInstancesValue = 8;

    /// <summary>VMs of one function running at once when its snapfn.json gives no <c>max_instances</c> (limit
    /// "max-instances").</summary>
    public int DefaultMaxInstances { get; init; } = DefaultMaxInstancesValue;

    /// <summary>Requests of one function that may wait for an instance; one more is refused at once (429).</summary>
    public int MaxQueueLength { get; init; } = 64;

    /// <summary>How long a queued request waits for an instance before it is refused (429, limit "queue-wait").</summary>
    public TimeSpan MaxQueueWait { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>How long an idle VM is kept after its last request before it is stopped (scale to zero);
    /// <see cref="Timeout.InfiniteTimeSpan"/> keeps it until the memory budget needs it.</summary>
    public TimeSpan KeepAlive { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>What a refused request is told to wait before it tries again (Retry-After): instances free up when a
    /// request ends, which is usually well within a second.</summary>
    public TimeSpan RetryAfter { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> for a value no pool can work with.</summary>
    public void Validate()
    {
        if (FunctionSettings.CheckMaxInstances(DefaultMaxInstances) is { } wrong)
            throw new ArgumentOutOfRangeException(nameof(DefaultMaxInstances), DefaultMaxInstances, "the default max_instances " + wrong);
        ArgumentOutOfRangeException.ThrowIfNegative(MaxQueueLength);
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxQueueWait, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(MaxQueueWait, TimeSpan.FromHours(1));
        if (KeepAlive <= TimeSpan.Zero && KeepAlive != Timeout.InfiniteTimeSpan)
            throw new ArgumentOutOfRangeException(nameof(KeepAlive), KeepAlive, "the keep-alive must be above zero, or infinite");
        ArgumentOutOfRangeException.ThrowIfLessThan(RetryAfter, TimeSpan.FromSeconds(1));
    }
}

namespace Snapfn.Platform.Logs;

/// <summary>
/// How much of a function's output the platform keeps, and how many clients may follow it (docs/limits.md,
/// "Function logs"). A guest decides how much it prints, and a client how long it follows: both are bounded here.
/// </summary>
public sealed record FunctionLogLimits
{
    /// <summary>Output bytes one invocation (or one snapshot's init) keeps, each line counting its newline; the rest
    /// is counted and dropped, with one line saying how much (limit "function-log-per-invocation").</summary>
    public int MaxBytesPerInvocation { get; init; } = 64 * 1024;

    /// <summary>Lines one invocation keeps, however short (a flood of empty lines costs rows, not bytes).</summary>
    public int MaxLinesPerInvocation { get; init; } = 4096;

    /// <summary>What one function's stored lines may take, each counted as its bytes plus <see cref="RowOverhead"/>;
    /// past it the oldest lines are deleted (limit "function-log-per-function").</summary>
    public long MaxBytesPerFunction { get; init; } = 8L << 20;

    /// <summary>Clients following logs at once, all functions together (limit "log-followers").</summary>
    public int MaxFollowers { get; init; } = 64;

    /// <summary>Lines waiting for one follower; a follower that falls this far behind is dropped, not buffered.</summary>
    public int FollowerBufferLines { get; init; } = 1024;

    /// <summary>What a stored line costs beyond its bytes (its row: ids, time, names), for the per-function bound.</summary>
    public const int RowOverhead = 64;

    public void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxBytesPerInvocation, 1, nameof(MaxBytesPerInvocation));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxLinesPerInvocation, 1, nameof(MaxLinesPerInvocation));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxBytesPerFunction, MaxBytesPerInvocation + (long)MaxLinesPerInvocation * RowOverhead,
            nameof(MaxBytesPerFunction));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxFollowers, 0, nameof(MaxFollowers));
        ArgumentOutOfRangeException.ThrowIfLessThan(FollowerBufferLines, 1, nameof(FollowerBufferLines));
    }
}

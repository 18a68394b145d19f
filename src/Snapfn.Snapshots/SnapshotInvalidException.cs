namespace Snapfn.Snapshots;

/// <summary>
/// A snapshot (or a recording made from one) cannot be used. The message says what is wrong and
/// <see cref="Remedy"/> what fixes it; the edge (CLI, HTTP API) words the remedy in its own terms.
/// </summary>
public sealed class SnapshotInvalidException : Exception
{
    public SnapshotInvalidException(string problem, SnapshotRemedy remedy, Exception? innerException = null) : base(problem, innerException) =>
        Remedy = remedy;

    public SnapshotInvalidException(string message) : base(message) { }

    public SnapshotInvalidException() { }

    public SnapshotInvalidException(string message, Exception innerException) : base(message, innerException) { }

    /// <summary>What fixes it; null when nothing the user runs would.</summary>
    public SnapshotRemedy? Remedy { get; }
}

/// <summary>What fixes an unusable snapshot or recording: take <see cref="Function"/>'s snapshot again
/// (<see cref="Mode"/> null), or record that mode again.</summary>
public sealed record SnapshotRemedy(string Function, string? Mode)
{
    public static SnapshotRemedy TakeSnapshot(string function) => new(function, null);

    public static SnapshotRemedy Record(string function, string mode) => new(function, mode);
}

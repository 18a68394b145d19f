namespace Snapfn.Snapshots;

/// <summary>A snapshot (or a recording made from one) cannot be used; the message says why and what to run.</summary>
public sealed class SnapshotInvalidException : Exception
{
    public SnapshotInvalidException(string message) : base(message) { }

    public SnapshotInvalidException() { }

    public SnapshotInvalidException(string message, Exception innerException) : base(message, innerException) { }
}

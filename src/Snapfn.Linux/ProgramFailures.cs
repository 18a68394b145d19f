using System.Text;
using Snapfn.Linux.Files;
using Snapfn.Vmm;

namespace Snapfn.Linux;

/// <summary>A function's program exited when it should have been serving requests.</summary>
public sealed class ProgramExitedException : GuestFailureException
{
    public ProgramExitedException(ProgramExit exit, string when, string stderrTail)
        : base($"the function's program {(exit?.Signal is { } s ? $"was stopped by signal {s}" : $"exited with status {exit?.Status}")} {when}" +
               (string.IsNullOrWhiteSpace(stderrTail) ? "" : $"; its last output:\n{stderrTail.TrimEnd()}"))
    {
        Exit = exit!;
    }

    public ProgramExit Exit { get; }
}

/// <summary>The function itself reported a failure (its handler raised, its init failed).</summary>
public sealed class FunctionFailedException : GuestFailureException
{
    public FunctionFailedException(string message, string? stderrTail)
        : base(string.IsNullOrWhiteSpace(stderrTail) || message.Contains(stderrTail.Trim(), StringComparison.Ordinal)
            ? message : $"{message}\n{stderrTail.TrimEnd()}")
    {
    }
}

/// <summary>The function's /tmp cannot go into a snapshot (it holds a socket, a device or a file also named outside
/// /tmp, or too much): the function's to fix, in its init().</summary>
public sealed class TmpSnapshotException : GuestFailureException
{
    public TmpSnapshotException(string message) : base(message) { }

    public TmpSnapshotException(string message, Exception innerException) : base(message, innerException) { }
}

/// <summary>The program holds, at its snapshot point, state a snapshot does not keep (an armed timer, a pending signal,
/// a MAP_SHARED mapping): the function's to fix, in its init().</summary>
public sealed class SnapshotStateException : GuestFailureException
{
    public SnapshotStateException(string what)
        : base($"the function {what} when it read its first request, and a snapshot cannot keep that: " +
               "close or disarm it in init(), before the first read of the channel")
    {
    }
}

/// <summary>A snapshot's process cannot be rebuilt here (its root changed, its /tmp is gone); take it again.</summary>
public sealed class ProcessRestoreException : Exception
{
    public ProcessRestoreException(string message) : base(message) { }

    public ProcessRestoreException() { }

    public ProcessRestoreException(string message, Exception innerException) : base(message, innerException) { }
}

/// <summary>Forwards a stream's bytes and keeps its last few KiB, for the message of a failed request.</summary>
internal sealed class OutputTail
{
    private const int Keep = 4096;
    private readonly Action<ReadOnlySpan<byte>>? _sink;
    private readonly Queue<byte> _tail = new();

    public OutputTail(Action<ReadOnlySpan<byte>>? sink)
    {
        _sink = sink;
    }

    public void Write(ReadOnlySpan<byte> bytes)
    {
        _sink?.Invoke(bytes);
        foreach (var b in bytes.Length > Keep ? bytes[^Keep..] : bytes)
        {
            if (_tail.Count == Keep)
                _tail.Dequeue();
            _tail.Enqueue(b);
        }
    }

    /// <summary>The last lines (at most 10) of what was written.</summary>
    public string Text
    {
        get
        {
            var lines = Encoding.UTF8.GetString([.. _tail]).Split('\n');
            return string.Join('\n', lines.TakeLast(11)).Trim('\n');
        }
    }
}

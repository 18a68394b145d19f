using System.Buffers;
using System.Globalization;
using System.Text;
using Snapfn.Vmm;

namespace Snapfn.Platform.Logs;

/// <summary>
/// What one invocation's guest writes, split into lines per stream and kept in memory up to the per-invocation bound
/// (<see cref="FunctionLogLimits.MaxBytesPerInvocation"/>, <see cref="FunctionLogLimits.MaxLinesPerInvocation"/>):
/// past it bytes are only counted, so a guest printing in a loop costs the host a counter, not memory. When the
/// invocation ends, <see cref="Complete"/> stores the lines, a note of what was dropped, and hands them to followers.
/// Written on the vCPU's thread, completed on the invocation's; a lock keeps the two apart.
/// </summary>
public sealed class FunctionLogCapture : IGuestOutput
{
    private readonly FunctionLogStore _store;
    private readonly FunctionLogLimits _limits;
    private readonly TimeProvider _time;
    private readonly Lock _lock = new();
    private readonly List<FunctionLogLine> _lines = [];
    // A line not ended yet, per stream (stdout and stderr interleave; a LOG hypercall is always a whole line).
    private readonly PendingLine _stdout = new("stdout");
    private readonly PendingLine _stderr = new("stderr");
    private long _keptBytes;
    private long _droppedBytes;
    private long _droppedLines;
    private bool _completed;

    internal FunctionLogCapture(FunctionLogStore store, string function, string invocationId, FunctionLogPhase phase, TimeProvider time)
    {
        _store = store;
        _limits = store.Limits;
        _time = time;
        Function = function;
        InvocationId = invocationId;
        Phase = phase;
    }

    public string Function { get; }

    public string InvocationId { get; }

    /// <summary>The phase the lines written from now on belong to (a warm VM booted for an invocation runs its init
    /// first).</summary>
    public FunctionLogPhase Phase { get; set; }

    /// <summary>Output bytes that did not fit and were dropped, newlines included.</summary>
    public long DroppedBytes
    {
        get
        {
            lock (_lock)
                return _droppedBytes;
        }
    }

    /// <summary>Runs <paramref name="init"/> with the lines it makes counted as init, when <paramref name="output"/> is
    /// a capture (the seam the invoker uses around a boot); runs it plainly otherwise.</summary>
    public static T DuringInit<T>(IGuestOutput? output, Func<T> init)
    {
        ArgumentNullException.ThrowIfNull(init);
        if (output is not FunctionLogCapture capture)
            return init();
        var before = capture.Phase;
        capture.Phase = FunctionLogPhase.Init;
        try
        {
            return init();
        }
        finally
        {
            capture.Phase = before;
        }
    }

    public void Write(GuestOutputKind stream, ReadOnlySpan<byte> bytes)
    {
        lock (_lock)
        {
            if (_completed)
                return;
            if (stream == GuestOutputKind.Log)
            {
                var line = new PendingLine("log");
                line.Add(bytes, Keep(bytes.Length));
                EndLine(line);
                return;
            }
            var pending = stream == GuestOutputKind.Stdout ? _stdout : _stderr;
            while (true)
            {
                var newline = bytes.IndexOf((byte)'\n');
                var part = newline < 0 ? bytes : bytes[..newline];
                pending.Add(part, Keep(part.Length));
                if (newline < 0)
                    return;
                EndLine(pending);
                bytes = bytes[(newline + 1)..];
            }
        }
    }

    /// <summary>Ends the capture: lines not ended by a newline are kept as they are, a note says what was dropped,
    /// and the lines are stored under <paramref name="path"/> (the path that served the invocation) and sent to
    /// followers. Later writes are ignored; a second call does nothing.</summary>
    public IReadOnlyList<FunctionLogLine> Complete(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        List<FunctionLogLine> lines;
        lock (_lock)
        {
            if (_completed)
                return [];
            _completed = true;
            foreach (var pending in new[] { _stdout, _stderr })
            {
                if (pending.Written > 0)
                    EndLine(pending, newline: 0);
            }
            if (_droppedBytes > 0 || _droppedLines > 0)
            {
                var note = string.Create(CultureInfo.InvariantCulture,
                    $"snapfn: {_droppedBytes} bytes of output dropped ({_droppedLines} lines whole): an invocation keeps {_limits.MaxBytesPerInvocation} bytes " +
                    $"and {_limits.MaxLinesPerInvocation} lines (limit 'function-log-per-invocation'; raise it with `snapfn serve --max-log-kib-per-invocation N`)");
                _lines.Add(Line("snapfn", Encoding.UTF8.GetBytes(note)));
            }
            lines = _lines.Select(l => l with { Path = path }).ToList();
            _lines.Clear();
        }
        return lines.Count == 0 ? lines : _store.Append(lines);
    }

    /// <summary>How many of <paramref name="count"/> more bytes fit; the rest are counted as dropped.</summary>
    private int Keep(int count)
    {
        var room = _lines.Count >= _limits.MaxLinesPerInvocation ? 0 : Math.Max(0, _limits.MaxBytesPerInvocation - _keptBytes);
        var keep = (int)Math.Min(room, count);
        _keptBytes += keep;
        _droppedBytes += count - keep;
        return keep;
    }

    /// <summary>Keeps a finished line when any of it was kept, or (an empty line) when its newline fits; else counts
    /// it dropped. The newline is counted as one byte of output.</summary>
    private void EndLine(PendingLine line, int newline = 1)
    {
        var kept = line.Take(out var written);
        var fits = _lines.Count < _limits.MaxLinesPerInvocation &&
                   (kept.Length > 0 || written == 0 && _keptBytes + newline <= _limits.MaxBytesPerInvocation);
        if (fits)
        {
            _keptBytes += newline;
            _lines.Add(Line(line.Stream, kept));
        }
        else
        {
            _droppedBytes += newline;
            _droppedLines++;
        }
    }

    /// <summary>A line being written: the bytes kept of it, and how many were written.</summary>
    private sealed class PendingLine(string stream)
    {
        private readonly ArrayBufferWriter<byte> _kept = new();

        public string Stream { get; } = stream;

        public long Written { get; private set; }

        public void Add(ReadOnlySpan<byte> bytes, int keep)
        {
            _kept.Write(bytes[..keep]);
            Written += bytes.Length;
        }

        public byte[] Take(out long written)
        {
            written = Written;
            var bytes = _kept.WrittenSpan.ToArray();
            _kept.ResetWrittenCount();
            Written = 0;
            return bytes;
        }
    }

    private FunctionLogLine Line(string stream, byte[] bytes) => new()
    {
        Function = Function,
        InvocationId = InvocationId,
        WrittenAt = _time.GetUtcNow(),
        Phase = Phase,
        Stream = stream,
        Path = "",
        Bytes = bytes,
    };
}

using Snapfn.Interop;
using Snapfn.Linux.Abi;

namespace Snapfn.Linux.Files;

/// <summary>
/// What a program's pipe buffers may hold on the host, summed over its pipes and what waits in its socket pairs
/// (<see cref="ProcessOptions.PipeBufferLimit"/>).
/// As Linux's pipe-user-pages-soft: a pipe made past the limit gets a one-page buffer instead of 64 KiB, and
/// F_SETPIPE_SZ cannot grow one past it (EPERM). With at most 1024 descriptors, a program holds at most the limit
/// plus 4 MiB of pipe buffers.
/// </summary>
public sealed class PipeBuffers
{
    public PipeBuffers(long limit)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(limit);
        Limit = limit;
    }

    public long Limit { get; }

    /// <summary>Bytes of capacity the open pipes have.</summary>
    public long InUse { get; private set; }

    /// <summary>Takes <paramref name="bytes"/> of capacity if it fits under the limit.</summary>
    public bool TryReserve(long bytes)
    {
        if (bytes > Limit - InUse)
            return false;
        InUse += bytes;
        return true;
    }

    /// <summary>Takes <paramref name="bytes"/> whether or not it fits (the one-page floor every pipe gets).</summary>
    public void Reserve(long bytes) => InUse += bytes;

    public void Release(long bytes) => InUse = Math.Max(0, InUse - bytes);
}

/// <summary>
/// A pipe's buffer, shared by its two ends: a ring of <see cref="Capacity"/> bytes (64 KiB, Linux's default;
/// F_SETPIPE_SZ changes it up to 1 MiB), allocated on the first write. Its ends never wait: a read of an empty pipe
/// or a write to a full one is EAGAIN here, and the system call decides whether the program waits (Waits).
/// </summary>
internal sealed class Pipe
{
    public const int DefaultCapacity = 64 * 1024;
    public const int MaxCapacity = 1024 * 1024;
    public const int PageSize = 4096;

    /// <summary>Writes of at most PIPE_BUF bytes are atomic: all or nothing (EAGAIN).</summary>
    public const int AtomicWrite = 4096;

    private static long _nextInode = 0x10000;
    private readonly PipeBuffers _budget;
    private byte[]? _ring;
    private int _head;

    private Pipe(PipeBuffers budget, int capacity)
    {
        _budget = budget;
        Inode = (ulong)Interlocked.Increment(ref _nextInode);
        Capacity = capacity;
        Readers = 0;
        Writers = 0;
    }

    public Pipe(PipeBuffers budget)
    {
        _budget = budget;
        Inode = (ulong)Interlocked.Increment(ref _nextInode);
        if (budget.TryReserve(DefaultCapacity))
        {
            Capacity = DefaultCapacity;
        }
        else
        {
            budget.Reserve(PageSize);
            Capacity = PageSize;
        }
    }

    /// <summary>A FIFO's pipe (<see cref="NamedPipes"/>), with no end yet: each open counts its own.</summary>
    public static Pipe Unopened(PipeBuffers budget) => new(budget) { Readers = 0, Writers = 0 };

    /// <summary>
    /// A pipe as a snapshot had it: <paramref name="capacity"/> (a power of two pages, at most
    /// <see cref="MaxCapacity"/>) and the bytes it held, with no end yet (<see cref="PipeEnd.Attach"/>). Null when the
    /// budget cannot take the capacity (a one-page pipe is taken whatever the budget, as a new pipe is).
    /// </summary>
    public static Pipe? Restore(PipeBuffers budget, int capacity, ReadOnlySpan<byte> bytes)
    {
        if (!IsCapacity(capacity) || bytes.Length > capacity)
            throw new ArgumentOutOfRangeException(nameof(capacity), capacity, "not a pipe capacity, or smaller than what the pipe holds");
        if (!budget.TryReserve(capacity))
        {
            if (capacity != PageSize)
                return null;
            budget.Reserve(PageSize);
        }
        var pipe = new Pipe(budget, capacity);
        if (!bytes.IsEmpty)
            pipe.Write(bytes);
        return pipe;
    }

    /// <summary>True for a capacity a pipe can have: a power of two pages up to <see cref="MaxCapacity"/>.</summary>
    public static bool IsCapacity(int capacity) => capacity is >= PageSize and <= MaxCapacity && (capacity & (capacity - 1)) == 0;

    /// <summary>A copy of the bytes waiting, in order, without reading them (for a snapshot).</summary>
    public byte[] Peek()
    {
        var bytes = new byte[Count];
        Peek(bytes);
        return bytes;
    }

    /// <summary>Copies the first of the bytes waiting into <paramref name="buffer"/> without reading them (tee, and
    /// splice before it knows how much its output took): how many.</summary>
    public int Peek(Span<byte> buffer)
    {
        var n = Math.Min(buffer.Length, Count);
        for (var done = 0; done < n;)
        {
            var at = (_head + done) % Capacity;
            var run = Math.Min(n - done, Capacity - at);
            _ring.AsSpan(at, run).CopyTo(buffer[done..]);
            done += run;
        }
        return n;
    }

    /// <summary>Reads and drops the first <paramref name="count"/> bytes waiting (at most all of them).</summary>
    public void Discard(int count)
    {
        var n = Math.Min(count, Count);
        _head = (_head + n) % Capacity;
        Count -= n;
        if (Count == 0)
            _head = 0;
        Version++;
    }

    public ulong Inode { get; }

    public int Capacity { get; private set; }

    /// <summary>Bytes waiting to be read (FIONREAD).</summary>
    public int Count { get; private set; }

    public int Readers { get; set; } = 1;

    public int Writers { get; set; } = 1;

    public long Version { get; private set; }

    public void Changed() => Version++;

    public int Read(Span<byte> buffer)
    {
        var n = Peek(buffer);
        Discard(n);
        return n;
    }

    public int Write(ReadOnlySpan<byte> buffer)
    {
        _ring ??= new byte[Capacity];
        var n = Math.Min(buffer.Length, Capacity - Count);
        for (var done = 0; done < n;)
        {
            var tail = (_head + Count) % Capacity;
            var run = Math.Min(n - done, Capacity - tail);
            buffer.Slice(done, run).CopyTo(_ring.AsSpan(tail));
            Count += run;
            done += run;
        }
        Version++;
        return n;
    }

    /// <summary>F_SETPIPE_SZ: the new capacity (a power of two pages), or a negated errno.</summary>
    public long Resize(long requested)
    {
        if (requested is <= 0 or > MaxCapacity)
            return requested > MaxCapacity ? -Errno.EPERM : -Errno.EINVAL;
        var size = PageSize;
        while (size < requested)
            size *= 2;
        if (size < Count)
            return -Errno.EBUSY;
        if (size > Capacity && !_budget.TryReserve(size - Capacity))
            return -Errno.EPERM;
        if (size < Capacity)
            _budget.Release(Capacity - size);
        if (_ring is not null)
        {
            var ring = new byte[size];
            var count = Count;
            Read(ring.AsSpan(0, count));
            _ring = ring;
            _head = 0;
            Count = count;
        }
        Capacity = size;
        return size;
    }

    public void Free()
    {
        _budget.Release(Capacity);
        _ring = null;
    }
}

/// <summary>One end of a <see cref="Pipe"/>, as pipe2 gives them (the read end O_RDONLY, the write end O_WRONLY), or as
/// a FIFO's open gives them (<see cref="NamedPipes"/>: either, or O_RDWR for both).</summary>
public sealed class PipeEnd : OpenFile
{
    private readonly Pipe _pipe;
    private readonly bool _reads;
    private readonly bool _writes;
    private readonly NamedPipe? _fifo;

    /// <summary>For a FIFO's read end: the write opens it had seen when it opened; as Linux's, it reports no POLLHUP
    /// for want of a writer until a writer has opened since (a reader waiting for its first writer is not hung up).</summary>
    private readonly long _writerOpensAtOpen = -1;

    private PipeEnd(Pipe pipe, bool reads, int statusFlags)
        : base($"pipe:[{pipe.Inode}]", (reads ? Libc.O_RDONLY : Libc.O_WRONLY) | statusFlags)
    {
        _pipe = pipe;
        _reads = reads;
        _writes = !reads;
    }

    private PipeEnd(NamedPipe fifo, bool reads, bool writes, int statusFlags)
        : base(fifo.GuestPath, (reads && writes ? Libc.O_RDWR : reads ? Libc.O_RDONLY : Libc.O_WRONLY) | statusFlags)
    {
        _pipe = fifo.Pipe;
        _reads = reads;
        _writes = writes;
        _fifo = fifo;
        if (reads && !writes && fifo.Pipe.Writers == 0)
            _writerOpensAtOpen = fifo.WriterOpens;
    }

    /// <summary>An end of a FIFO's pipe, counted as a reader, a writer or both.</summary>
    internal static PipeEnd OpenFifo(NamedPipe fifo, bool reads, bool writes, int statusFlags)
    {
        if (reads)
            fifo.Pipe.Readers++;
        if (writes)
            fifo.Pipe.Writers++;
        fifo.Pipe.Changed();
        return new PipeEnd(fifo, reads, writes, statusFlags);
    }

    /// <summary>An end of a FIFO of the file system (a named pipe), not of pipe2.</summary>
    public bool IsNamed => _fifo is not null;

    /// <summary>A new pipe's read and write ends, with <paramref name="statusFlags"/> (O_NONBLOCK) on both.</summary>
    public static (PipeEnd Read, PipeEnd Write) Create(PipeBuffers budget, int statusFlags)
    {
        var pipe = new Pipe(budget);
        return (new PipeEnd(pipe, true, statusFlags), new PipeEnd(pipe, false, statusFlags));
    }

    /// <summary>An end of a restored <paramref name="pipe"/>: counted as one of its readers or writers.</summary>
    internal static PipeEnd Attach(Pipe pipe, bool reads, int statusFlags)
    {
        if (reads)
            pipe.Readers++;
        else
            pipe.Writers++;
        pipe.Changed();
        return new PipeEnd(pipe, reads, statusFlags);
    }

    public bool IsReadEnd => _reads;

    internal Pipe Pipe => _pipe;

    /// <summary>Bytes waiting to be read (FIONREAD).</summary>
    public int Available => _pipe.Count;

    /// <summary>F_GETPIPE_SZ.</summary>
    public int Capacity => _pipe.Capacity;

    /// <summary>F_SETPIPE_SZ.</summary>
    public long Resize(long size) => _pipe.Resize(size);

    /// <summary>What is there; 0 (end of file) once no write end is open; EAGAIN while one is and nothing is there.</summary>
    public override long Read(Span<byte> buffer)
    {
        if (buffer.IsEmpty)
            return 0;
        if (_pipe.Count == 0)
            return _pipe.Writers == 0 ? 0 : -Errno.EAGAIN;
        return _pipe.Read(buffer);
    }

    /// <summary>EPIPE with no read end open (the caller raises SIGPIPE); a write of at most PIPE_BUF bytes is all or
    /// EAGAIN; a longer one takes what fits, EAGAIN when nothing does.</summary>
    public override long Write(ReadOnlySpan<byte> buffer)
    {
        if (buffer.IsEmpty)
            return 0;
        if (_pipe.Readers == 0)
            return -Errno.EPIPE;
        var room = _pipe.Capacity - _pipe.Count;
        if (room == 0 || buffer.Length <= Pipe.AtomicWrite && room < buffer.Length)
            return -Errno.EAGAIN;
        return _pipe.Write(buffer);
    }

    public override int Allocate(int mode, long offset, long length) => -Errno.ESPIPE;

    public override int Poll() =>
        (_reads ? (_pipe.Count > 0 ? PollEvents.Readable : 0) | (HungUp ? PollEvents.POLLHUP : 0) : 0) |
        (_writes ? (_pipe.Count < _pipe.Capacity ? PollEvents.Writable : 0) | (_pipe.Readers == 0 ? PollEvents.POLLERR : 0) : 0);

    private bool HungUp => _pipe.Writers == 0 && (_fifo is null || _fifo.WriterOpens != _writerOpensAtOpen);

    public override bool CanEpoll => true;

    public override long ReadinessVersion => _pipe.Version;

    public override int Stat(out Kernel.stat st) =>
        _fifo is not null ? _fifo.Stat(out st) : PseudoFileStat(Kernel.S_IFIFO | 0x180, _pipe.Inode, out st); // 0600, as pipefs

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            if (_reads)
                _pipe.Readers--;
            if (_writes)
                _pipe.Writers--;
            _pipe.Changed();
            if (_pipe.Readers == 0 && _pipe.Writers == 0)
            {
                if (_fifo is not null)
                    _fifo.Released();
                else
                    _pipe.Free();
            }
        }
        base.Dispose(disposing);
    }
}

using System.Buffers.Binary;
using Snapfn.Interop;
using Snapfn.Linux.Abi;

namespace Snapfn.Linux.Files;

/// <summary>
/// An eventfd: a 64-bit counter. A write of 8 bytes adds to it (EAGAIN where the sum would pass 2^64 - 2); a read
/// of 8 bytes takes it all and leaves 0, or with EFD_SEMAPHORE takes 1; a read of 0 is EAGAIN. As for pipes, the
/// system call decides whether the program waits.
/// </summary>
public sealed class EventFile : OpenFile
{
    internal const int EFD_SEMAPHORE = 1;
    private const ulong Max = ulong.MaxValue - 1;
    private static long _nextInode = 0x20000;

    private readonly bool _semaphore;
    private readonly ulong _inode = (ulong)Interlocked.Increment(ref _nextInode);
    private long _version;

    public EventFile(ulong initial, bool semaphore, int statusFlags) : base("anon_inode:[eventfd]", Libc.O_RDWR | statusFlags)
    {
        Counter = initial;
        _semaphore = semaphore;
    }

    public ulong Counter { get; private set; }

    /// <summary>EFD_SEMAPHORE: a read takes 1, not the whole counter.</summary>
    public bool Semaphore => _semaphore;

    /// <summary>The largest value the counter can hold (2^64 - 2).</summary>
    public const ulong MaxCounter = Max;

    public override long Read(Span<byte> buffer)
    {
        if (buffer.Length < 8)
            return -Errno.EINVAL;
        if (Counter == 0)
            return -Errno.EAGAIN;
        var value = _semaphore ? 1 : Counter;
        Counter -= value;
        _version++;
        BinaryPrimitives.WriteUInt64LittleEndian(buffer, value);
        return 8;
    }

    public override long Write(ReadOnlySpan<byte> buffer)
    {
        if (buffer.Length < 8)
            return -Errno.EINVAL;
        var value = BinaryPrimitives.ReadUInt64LittleEndian(buffer);
        if (value == ulong.MaxValue)
            return -Errno.EINVAL;
        if (value > Max - Counter)
            return -Errno.EAGAIN;
        Counter += value;
        _version++;
        return 8;
    }

    public override int Poll() => (Counter > 0 ? PollEvents.Readable : 0) | (Counter < Max ? PollEvents.Writable : 0);

    public override bool CanEpoll => true;

    public override long ReadinessVersion => _version;

    public override int Stat(out Kernel.stat st) => AnonymousInodeStat(_inode, out st);
}

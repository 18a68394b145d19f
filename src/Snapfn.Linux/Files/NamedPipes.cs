using System.Runtime.InteropServices;
using Snapfn.Interop;
using Snapfn.Linux.Abi;

namespace Snapfn.Linux.Files;

/// <summary>
/// The FIFOs of /tmp opened by the program, as Linux's named pipes (fs/pipe.c, fifo_open) within its one process: no
/// I/O ever goes through the host FIFO (a blocking host open would stop a VMM thread, and a host pipe would be a host
/// resource the guest controls; RootFileSystem's host opens carry O_NONBLOCK and close a FIFO at once); it only names
/// the inode, held O_PATH while any end is open, and the data goes through one of the layer's own
/// <see cref="Pipe"/>s per inode. Opening rules are Linux's: O_RDWR opens at once; a
/// read end opens at once with O_NONBLOCK; a write end with O_NONBLOCK and no reader is ENXIO; a blocking end waits
/// until the other side has been opened (<see cref="MustWait"/>: the system call waits and asks again). A waiting
/// end already counts as open, as in Linux, so that the other side does not wait for it in turn.
/// </summary>
internal sealed class NamedPipes(PipeBuffers budget)
{
    /// <summary>Not an errno (Linux's stop below 4096): the open has to wait for the other end; ask again after a wait.</summary>
    public const int MustWait = 4096;

    private readonly Dictionary<(ulong Device, ulong Inode), NamedPipe> _open = [];

    /// <summary>
    /// Opens the FIFO whose inode <paramref name="node"/> holds (O_PATH; taken over: kept while an end is open, else
    /// disposed). <paramref name="waiter"/> is the thread that would wait, or null for a caller that cannot wait, which
    /// is then answered as if it had asked for O_NONBLOCK; <paramref name="space"/> is the writable mount it is in
    /// (whose owners its fstat shows). Null with an errno (ENXIO, <see cref="MustWait"/>) otherwise.
    /// </summary>
    public PipeEnd? Open(SafeFd node, string path, int flags, int? waiter, WritableSpace? space, out int errno)
    {
        errno = 0;
        Kernel.stat st;
        unsafe
        {
            if (Libc.fstat(node, (Libc.stat_buf*)&st) < 0)
            {
                errno = Marshal.GetLastPInvokeError();
                node.Dispose();
                return null;
            }
        }
        var key = (st.st_dev, st.st_ino);
        if (_open.TryGetValue(key, out var fifo))
        {
            node.Dispose();
        }
        else
        {
            fifo = new NamedPipe(this, key, node, path, Pipe.Unopened(budget), space);
            _open[key] = fifo;
        }
        var end = fifo.Open(flags & (Libc.O_ACCMODE | Libc.O_NONBLOCK), waiter, out errno);
        if (end is null && fifo.Pipe.Readers == 0 && fifo.Pipe.Writers == 0)
            fifo.Released();
        return end;
    }

    /// <summary>Gives up the open <paramref name="waiter"/> waits in (a signal ended its wait): its end is closed.</summary>
    public void Cancel(int waiter)
    {
        foreach (var fifo in _open.Values.ToArray())
            fifo.Cancel(waiter);
    }

    internal void Remove((ulong, ulong) key) => _open.Remove(key);
}

/// <summary>One FIFO inode with ends open: its pipe, the host inode held O_PATH, and how often each side was opened
/// (Linux's r_counter and w_counter: a waiting end is done once the other side's count has moved).</summary>
internal sealed class NamedPipe(NamedPipes all, (ulong, ulong) key, SafeFd node, string path, Pipe pipe, WritableSpace? space)
{
    private readonly Dictionary<int, (PipeEnd End, bool Reads, long Seen)> _waiting = [];
    private long _readerOpens, _writerOpens;

    public Pipe Pipe => pipe;

    /// <summary>How many times a write end was opened (Linux's w_counter).</summary>
    public long WriterOpens => _writerOpens;

    /// <summary>The path the FIFO was first opened by (what /proc/self/fd shows).</summary>
    public string GuestPath => path;

    public PipeEnd? Open(int flags, int? waiter, out int errno)
    {
        errno = 0;
        var nonBlocking = (flags & Libc.O_NONBLOCK) != 0 || waiter is null;
        var access = flags & Libc.O_ACCMODE;
        if (waiter is { } tid && _waiting.TryGetValue(tid, out var pending))
        {
            if ((pending.Reads ? _writerOpens : _readerOpens) == pending.Seen)
            {
                errno = NamedPipes.MustWait;
                return null;
            }
            _waiting.Remove(tid);
            return pending.End;
        }
        if (access == Libc.O_WRONLY && nonBlocking && pipe.Readers == 0)
        {
            errno = Errno.ENXIO;
            return null;
        }
        var reads = access != Libc.O_WRONLY;
        var writes = access != Libc.O_RDONLY;
        var end = PipeEnd.OpenFifo(this, reads, writes, flags & Libc.O_NONBLOCK);
        if (reads)
            _readerOpens++;
        if (writes)
            _writerOpens++;
        var partnerOpen = reads && writes || (reads ? pipe.Writers > 0 : pipe.Readers > 0);
        if (partnerOpen || (reads && nonBlocking))
            return end;
        _waiting[waiter!.Value] = (end, reads, reads ? _writerOpens : _readerOpens);
        errno = NamedPipes.MustWait;
        return null;
    }

    public void Cancel(int waiter)
    {
        if (_waiting.Remove(waiter, out var pending))
            pending.End.Dispose();
    }

    /// <summary>fstat of an end: the FIFO's own inode, as Linux reports it.</summary>
    public int Stat(out Kernel.stat st)
    {
        int result;
        unsafe
        {
            fixed (Kernel.stat* p = &st)
                result = (int)HostFile.Result(Libc.fstat(node, (Libc.stat_buf*)p));
        }
        Ownership.ToGuest(ref st, node, space);
        return result;
    }

    /// <summary>The last end closed: the pipe's data is gone (as Linux frees it) and the inode is let go.</summary>
    public void Released()
    {
        pipe.Free();
        all.Remove(key);
        node.Dispose();
    }
}

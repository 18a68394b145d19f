using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using Snapfn.Interop;
using Snapfn.Linux.Abi;
using Snapfn.Linux.Files;
using Snapfn.Linux.Memory;
using static Snapfn.Linux.Syscalls.SyscallArgs;

namespace Snapfn.Linux.Syscalls;

/// <summary>Files, directories and descriptors (read, openat, newfstatat, getdents64, ...): sys_file in gVisor's terms.</summary>
internal static class FileCalls
{
    /// <summary>UIO_MAXIOV: more iovecs than this is EINVAL.</summary>
    private const int MaxIovecs = 1024;
    private const int FIONCLEX = 0x5450;
    private const int FIOCLEX = 0x5451;
    private const int FIONREAD = 0x541b;
    private const int FIONBIO = 0x5421;

    public static long Read(LinuxProcess p, in SyscallArgs a)
    {
        if (p.Files.Get(a.A0) is not { } file)
            return -Errno.EBADF;
        if (!file.CanRead)
            return -Errno.EBADF;
        var buffer = p.User.Writable(a.A1, Math.Min(a.A2, UserMemory.MaxTransfer));
        // An empty invocation channel: the program waits for its next request (READY).
        if (file is ChannelFile { HasInput: false } && p.Channel is { } channel && a.A2 > 0)
            return channel.Wait(a.A1, a.A2);
        return ReadWaiting(p, file, AsInt(a.A0), buffer);
    }

    /// <summary>A read that waits, as Linux's, while the file has nothing yet (EAGAIN) and is not O_NONBLOCK.</summary>
    private static long ReadWaiting(LinuxProcess p, OpenFile file, int fd, Span<byte> buffer)
    {
        while (true)
        {
            var n = file.Read(buffer);
            if (n != -Errno.EAGAIN || !Waits(file))
                return n;
            var woken = Syscalls.Waits.Block(p, Syscalls.Waits.Forever, WaitingFor(file, fd, write: false));
            if (woken < 0)
                return woken;
        }
    }

    public static long Write(LinuxProcess p, in SyscallArgs a)
    {
        if (p.Files.Get(a.A0) is not { } file || !file.CanWrite)
            return -Errno.EBADF;
        return WriteWaiting(p, file, AsInt(a.A0), p.User.Readable(a.A1, Math.Min(a.A2, UserMemory.MaxTransfer)));
    }

    /// <summary>A write that waits for room, as Linux's, until all of it is written, unless the file is O_NONBLOCK or
    /// the call says <paramref name="dontWait"/> (MSG_DONTWAIT: then what fits, or EAGAIN); EPIPE on a pipe with no
    /// reader raises SIGPIPE too, unless <paramref name="noSignal"/> (MSG_NOSIGNAL).</summary>
    internal static long WriteWaiting(LinuxProcess p, OpenFile file, int fd, ReadOnlySpan<byte> data, bool dontWait = false, bool noSignal = false)
    {
        var waits = Waits(file) && !dontWait;
        // With other threads a wait leaves the vCPU and the call is served again from the start, with the same data:
        // what it wrote before is kept with the thread, and it goes on from there.
        var thread = p.Threads.Current;
        var done = Math.Min(thread.CallProgress, data.Length);
        while (true)
        {
            var n = file.Write(data[(int)done..]);
            if (n == -Errno.EPIPE && file.SignalsBrokenPipe && !noSignal)
                p.Signals.Raise(SIGPIPE, SignalInfo.User);
            if (n >= 0)
            {
                done += n;
                if (done == data.Length || n == 0 || !waits)
                    return done;
                continue;
            }
            if (n != -Errno.EAGAIN || !waits)
                return done > 0 ? done : n;
            // Bytes written are progress for the others, as a completed call is: a reader waiting to be served again
            // must look at the pipe now, or each would wait for the other.
            if (done > thread.CallProgress)
                p.Threads.Progress();
            thread.CallProgress = done;
            var woken = Syscalls.Waits.Block(p, Syscalls.Waits.Forever, WaitingFor(file, fd, write: true));
            if (woken < 0)
                return done > 0 ? done : woken;
        }
    }

    private const int SIGPIPE = 13;

    /// <summary>The file makes the program wait when it is not ready: a pipe, an eventfd or a socket without O_NONBLOCK.</summary>
    internal static bool Waits(OpenFile file) => file.CanEpoll && (file.StatusFlags & Libc.O_NONBLOCK) == 0;

    /// <summary>What the program waits for, for the message if it would wait forever.</summary>
    internal static string WaitingFor(OpenFile file, int fd, bool write) => (file, write) switch
    {
        (PipeEnd, false) => $"reads the empty pipe at fd {fd}, whose write end it holds open itself",
        (PipeEnd, true) => $"writes to the full pipe at fd {fd} ({((PipeEnd)file).Capacity} bytes), whose read end it holds open itself",
        (EventFile, false) => $"reads the eventfd at fd {fd}, whose counter is 0",
        (SocketEnd, false) => $"reads the empty socket at fd {fd}, whose peer it holds open itself",
        (SocketEnd, true) => $"writes to the socket at fd {fd}, whose peer holds a full SO_SNDBUF ({((SocketEnd)file).SendBuffer} bytes) of its data",
        _ => $"writes to the eventfd at fd {fd}, whose counter is full",
    };

    public static long Pread64(LinuxProcess p, in SyscallArgs a)
    {
        if (p.Files.Get(a.A0) is not { } file || !file.CanRead)
            return -Errno.EBADF;
        if ((long)a.A3 < 0)
            return -Errno.EINVAL;
        return file.ReadAt(p.User.Writable(a.A1, Math.Min(a.A2, UserMemory.MaxTransfer)), (long)a.A3);
    }

    public static long Pwrite64(LinuxProcess p, in SyscallArgs a)
    {
        if (p.Files.Get(a.A0) is not { } file || !file.CanWrite)
            return -Errno.EBADF;
        if ((long)a.A3 < 0)
            return -Errno.EINVAL;
        return file.WriteAt(p.User.Readable(a.A1, Math.Min(a.A2, UserMemory.MaxTransfer)), (long)a.A3);
    }

    public static long Readv(LinuxProcess p, in SyscallArgs a) => Vectored(p, a, write: false);

    public static long Writev(LinuxProcess p, in SyscallArgs a) => Vectored(p, a, write: true);

    // preadv2/pwritev2's flags Linux 6.1 knows; the others are EOPNOTSUPP, as its kiocb_set_rw_flags answers.
    private const ulong RWF_DSYNC = 2, RWF_SYNC = 4, RWF_APPEND = 0x10, KnownRwfFlags = 0x1f; // and HIPRI 1, NOWAIT 8

    /// <summary>preadv(fd, iov, iovcnt, pos_l, pos_h): readv at an offset, which x86-64 passes whole in pos_l.</summary>
    public static long Preadv(LinuxProcess p, in SyscallArgs a) => VectoredAt(p, a, write: false, flags: 0, currentAllowed: false);

    public static long Pwritev(LinuxProcess p, in SyscallArgs a) => VectoredAt(p, a, write: true, flags: 0, currentAllowed: false);

    /// <summary>preadv2 and pwritev2: an offset of -1 is the file's own, as readv and writev; RWF_APPEND writes at
    /// the end, RWF_SYNC and RWF_DSYNC sync what was written; RWF_HIPRI and RWF_NOWAIT change nothing here (a
    /// file of the root or of /tmp never waits for its disk).</summary>
    public static long Preadv2(LinuxProcess p, in SyscallArgs a) => VectoredAt(p, a, write: false, flags: a.A5, currentAllowed: true);

    public static long Pwritev2(LinuxProcess p, in SyscallArgs a) => VectoredAt(p, a, write: true, flags: a.A5, currentAllowed: true);

    private static long VectoredAt(LinuxProcess p, in SyscallArgs a, bool write, ulong flags, bool currentAllowed)
    {
        if (p.Files.Get(a.A0) is not { } file || (write ? !file.CanWrite : !file.CanRead))
            return -Errno.EBADF;
        if ((flags & ~KnownRwfFlags) != 0)
            return -Errno.EOPNOTSUPP;
        var offset = (long)a.A3;
        if (offset == -1 && currentAllowed)
            return Vectored(p, a, write);
        if (offset < 0)
            return -Errno.EINVAL;
        var iovecs = ImportIovecs(p, a.A1, a.A2, out var errno);
        if (errno != 0)
            return -errno;
        if (write && (flags & RWF_APPEND) != 0)
        {
            var found = file.Stat(out var st);
            if (found < 0)
                return found;
            offset = st.st_size;
        }
        var total = EachIovec(iovecs, (address, length, done) => write
            ? file.WriteAt(p.User.Readable(address, length), offset + done)
            : file.ReadAt(p.User.Writable(address, length), offset + done));
        if (write && total > 0 && (flags & (RWF_SYNC | RWF_DSYNC)) != 0 && file.Sync(dataOnly: (flags & RWF_SYNC) == 0) is var synced and < 0)
            return synced;
        return total;
    }

    /// <summary>readv and writev as Linux's import_iovec: the whole iovec array is copied in first (EFAULT if any of
    /// it is unreadable), an iov_len above SSIZE_MAX is EINVAL, and the lengths are cut so that they add up to at most
    /// MAX_RW_COUNT; then the buffers are transferred in order, and a bad one after some bytes moved ends the call with
    /// the count so far.</summary>
    private static long Vectored(LinuxProcess p, in SyscallArgs a, bool write)
    {
        if (p.Files.Get(a.A0) is not { } file || (write ? !file.CanWrite : !file.CanRead))
            return -Errno.EBADF;
        var iovecs = ImportIovecs(p, a.A1, a.A2, out var errno);
        if (errno != 0)
            return -errno;
        // A datagram is one message however many buffers it is gathered from or scattered into.
        if (file is SocketEnd socket)
            return write ? SocketCalls.SendVector(p, socket, AsInt(a.A0), iovecs, 0) : SocketCalls.ReceiveVector(p, socket, AsInt(a.A0), iovecs, 0, out _);
        return TransferEach(p, file, AsInt(a.A0), iovecs, write);
    }

    /// <summary>The buffers transferred in order; only the first waits (once bytes have moved, a file that runs dry or
    /// full ends the call), and a bad buffer after some bytes moved ends it with the count so far.</summary>
    internal static long TransferEach(LinuxProcess p, OpenFile file, int fd, ReadOnlySpan<Kernel.iovec> iovecs, bool write,
        bool dontWait = false, bool noSignal = false) =>
        EachIovec(iovecs, (address, length, done) => (write, done) switch
        {
            (true, 0) => WriteWaiting(p, file, fd, p.User.Readable(address, length), dontWait, noSignal),
            (true, _) => file.Write(p.User.Readable(address, length)),
            (false, 0) => ReadWaiting(p, file, fd, p.User.Writable(address, length)),
            _ => file.Read(p.User.Writable(address, length)),
        });

    /// <summary>Moves <paramref name="length"/> bytes at guest <paramref name="address"/>, <paramref name="done"/>
    /// bytes into the call: how many moved, or a negated errno.</summary>
    private delegate long IovecTransfer(ulong address, ulong length, long done);

    /// <summary>Each buffer in turn, within MAX_RW_COUNT in all, until one moves less than its length; a bad buffer
    /// or an error after some bytes moved ends the call with the count so far.</summary>
    private static long EachIovec(ReadOnlySpan<Kernel.iovec> iovecs, IovecTransfer transfer)
    {
        long total = 0;
        var budget = UserMemory.MaxTransfer;
        foreach (var iov in iovecs)
        {
            var length = Math.Min(iov.iov_len, budget);
            if (length == 0)
                continue;
            long n;
            try
            {
                n = transfer(iov.iov_base, length, total);
            }
            catch (BadAddressException) when (total > 0)
            {
                return total;
            }
            if (n < 0)
                return total > 0 ? total : n;
            total += n;
            budget -= (ulong)n;
            if ((ulong)n < length)
                break;
        }
        return total;
    }

    /// <summary>An iovec array as import_iovec copies it in: EINVAL past UIO_MAXIOV entries or for an iov_len above
    /// SSIZE_MAX, EFAULT where the array is unreadable. The guest is stopped while its call is served, so the array
    /// cannot change under us.</summary>
    internal static ReadOnlySpan<Kernel.iovec> ImportIovecs(LinuxProcess p, ulong address, ulong count, out int errno)
    {
        errno = 0;
        if (count > MaxIovecs)
        {
            errno = Errno.EINVAL;
            return [];
        }
        if (!GuestRange.TryCreateArray(address, count, (ulong)Unsafe.SizeOf<Kernel.iovec>(), out var array))
        {
            errno = Errno.EFAULT;
            return [];
        }
        var iovecs = MemoryMarshal.Cast<byte, Kernel.iovec>(p.User.Readable(array));
        foreach (var iov in iovecs)
        {
            if (iov.iov_len > long.MaxValue)
            {
                errno = Errno.EINVAL;
                return [];
            }
        }
        return iovecs;
    }

    public static long Lseek(LinuxProcess p, in SyscallArgs a) =>
        p.Files.Get(a.A0) is { } file ? file.Seek((long)a.A1, AsInt(a.A2)) : -Errno.EBADF;

    public static long Close(LinuxProcess p, in SyscallArgs a) => p.Files.Close(a.A0);

    public static long Open(LinuxProcess p, in SyscallArgs a) => OpenAt(p, Libc.AT_FDCWD, a.A0, AsInt(a.A1), AsInt(a.A2));

    public static long Openat(LinuxProcess p, in SyscallArgs a) => OpenAt(p, AsInt(a.A0), a.A1, AsInt(a.A2), AsInt(a.A3));

    private static long OpenAt(LinuxProcess p, int dirfd, ulong pathAddress, int flags, int mode)
    {
        var path = Resolve(p, dirfd, pathAddress, out var errno, out var directoryOnly);
        if (path is null)
            return -errno;
        if (directoryOnly)
        {
            // "name/" names a directory: a file cannot be created by it, whether the name exists or not (Linux's
            // open_last_lookups), and what it opens must be one.
            if ((flags & Libc.O_CREAT) != 0)
                return -Errno.EISDIR;
            flags |= Libc.O_DIRECTORY;
        }
        if (ProcFiles.Normalize(path) is { } proc)
            return ProcFiles.Open(p, proc, flags, out errno) is { } procFile ? p.Files.Add(procFile, closeOnExec: (flags & Libc.O_CLOEXEC) != 0) : -errno;
        var tid = p.Threads.Current.Tid;
        OpenFile? file;
        // A FIFO's blocking open waits for its other end, which only another thread can open.
        while ((file = p.Root.Open(path, flags, mode & ~p.Umask, out errno, tid)) is null && errno == NamedPipes.MustWait)
        {
            var what = (flags & Libc.O_ACCMODE) == Libc.O_RDONLY ? "for reading, which no thread opens for writing" : "for writing, which no thread opens for reading";
            var woken = Syscalls.Waits.Block(p, Syscalls.Waits.Forever, $"opens the FIFO {path} {what}");
            if (woken < 0)
            {
                p.Root.Fifos?.Cancel(tid);
                return woken;
            }
        }
        if (file is null)
            return -errno;
        return p.Files.Add(file, closeOnExec: (flags & Libc.O_CLOEXEC) != 0);
    }

    public static long Fstat(LinuxProcess p, in SyscallArgs a)
    {
        if (p.Files.Get(a.A0) is not { } file)
            return -Errno.EBADF;
        var result = file.Stat(out var st);
        if (result < 0)
            return result;
        p.User.Write(a.A1, st);
        return 0;
    }

    public static long Stat(LinuxProcess p, in SyscallArgs a) => StatAt(p, Libc.AT_FDCWD, a.A0, a.A1, 0);

    public static long Lstat(LinuxProcess p, in SyscallArgs a) => StatAt(p, Libc.AT_FDCWD, a.A0, a.A1, Libc.AT_SYMLINK_NOFOLLOW);

    public static long Newfstatat(LinuxProcess p, in SyscallArgs a) => StatAt(p, AsInt(a.A0), a.A1, a.A2, AsInt(a.A3));

    private static long StatAt(LinuxProcess p, int dirfd, ulong pathAddress, ulong statAddress, int flags)
    {
        // Check the output buffer first, as Linux does before it looks the path up.
        _ = p.User.Writable(statAddress, (ulong)System.Runtime.CompilerServices.Unsafe.SizeOf<Kernel.stat>());
        var result = Lookup(p, dirfd, pathAddress, flags, out var st);
        if (result < 0)
            return result;
        p.User.Write(statAddress, st);
        return 0;
    }

    /// <summary>What fstatat(dirfd, path, flags) finds: the descriptor itself for AT_EMPTY_PATH and "" (the working
    /// directory for AT_FDCWD, as Linux).</summary>
    private static long Lookup(LinuxProcess p, int dirfd, ulong pathAddress, int flags, out Kernel.stat st)
    {
        st = default;
        if ((flags & Libc.AT_EMPTY_PATH) != 0 && p.User.ReadString(pathAddress).Length == 0)
        {
            if (dirfd == Libc.AT_FDCWD)
                return ProcFiles.Normalize(p.Cwd) is { } cwdProc ? ProcFiles.Stat(p, cwdProc, true, out st) : p.Root.Stat(p.Cwd, true, out st);
            return p.Files.Get(dirfd) is { } file ? file.Stat(out st) : -Errno.EBADF;
        }
        var path = Resolve(p, dirfd, pathAddress, out var errno, out var directoryOnly);
        if (path is null)
            return -errno;
        // "name/" follows a last link and must be a directory.
        var follow = (flags & Libc.AT_SYMLINK_NOFOLLOW) == 0 || directoryOnly;
        var result = ProcFiles.Normalize(path) is { } proc ? ProcFiles.Stat(p, proc, follow, out st) : p.Root.Stat(path, follow, out st);
        return result == 0 && directoryOnly && (st.st_mode & Kernel.S_IFMT) != Kernel.S_IFDIR ? -Errno.ENOTDIR : result;
    }

    private const int AT_NO_AUTOMOUNT = 0x800, AT_STATX_FORCE_SYNC = 0x2000, AT_STATX_DONT_SYNC = 0x4000;
    private const uint STATX_BASIC_STATS = 0x7ff, STATX__RESERVED = 0x8000_0000;

    /// <summary>
    /// statx(dirfd, path, flags, mask, buffer): what fstatat finds, in struct statx. The basic fields are always
    /// filled and stx_mask says so (STATX_BASIC_STATS; no birth time, mount id or attributes, whatever the mask asks,
    /// as Linux answers for a file system that has none of them). Linux's checks: a reserved mask bit, both sync
    /// flags or an unknown flag is EINVAL. libuv (Node's fs.stat) calls it first and falls back to fstatat only on
    /// ENOSYS.
    /// </summary>
    public static long Statx(LinuxProcess p, in SyscallArgs a)
    {
        var (dirfd, flags, mask) = (AsInt(a.A0), AsInt(a.A2), (uint)a.A3);
        if ((mask & STATX__RESERVED) != 0 || (flags & (AT_STATX_FORCE_SYNC | AT_STATX_DONT_SYNC)) == (AT_STATX_FORCE_SYNC | AT_STATX_DONT_SYNC) ||
            (flags & ~(Libc.AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT | Libc.AT_EMPTY_PATH | AT_STATX_FORCE_SYNC | AT_STATX_DONT_SYNC)) != 0)
            return -Errno.EINVAL;
        _ = p.User.Writable(a.A4, (ulong)System.Runtime.CompilerServices.Unsafe.SizeOf<Kernel.statx>());
        var result = Lookup(p, dirfd, a.A1, flags, out var st);
        if (result < 0)
            return result;
        p.User.Write(a.A4, new Kernel.statx
        {
            stx_mask = STATX_BASIC_STATS,
            stx_blksize = (uint)st.st_blksize,
            stx_nlink = (uint)st.st_nlink,
            stx_uid = st.st_uid,
            stx_gid = st.st_gid,
            stx_mode = (ushort)st.st_mode,
            stx_ino = st.st_ino,
            stx_size = (ulong)st.st_size,
            stx_blocks = (ulong)st.st_blocks,
            stx_atime = Timestamp(st.st_atime, st.st_atime_nsec),
            stx_ctime = Timestamp(st.st_ctime, st.st_ctime_nsec),
            stx_mtime = Timestamp(st.st_mtime, st.st_mtime_nsec),
            stx_rdev_major = Major(st.st_rdev),
            stx_rdev_minor = Minor(st.st_rdev),
            stx_dev_major = Major(st.st_dev),
            stx_dev_minor = Minor(st.st_dev),
        });
        return 0;
    }

    private static Kernel.statx_timestamp Timestamp(long seconds, long nanoseconds) => new() { tv_sec = seconds, tv_nsec = (uint)nanoseconds };

    // The userspace dev_t encoding (glibc's makedev, the kernel's new_encode_dev): 12 bits of major, 20 of minor.
    private static uint Major(ulong dev) => (uint)(((dev >> 8) & 0xfff) | ((dev >> 32) & ~0xfffUL));

    private static uint Minor(ulong dev) => (uint)((dev & 0xff) | ((dev >> 12) & ~0xffUL));

    public static long Getdents64(LinuxProcess p, in SyscallArgs a)
    {
        if (p.Files.Get(a.A0) is not { } file)
            return -Errno.EBADF;
        // The count is an unsigned int that Linux keeps in an int: from 2^31 on no entry fits, EINVAL. The entries are
        // written straight into the program's buffer, at most 1 MiB a call (a short read, as a smaller buffer gives).
        var count = (uint)a.A2;
        if (count > int.MaxValue)
            return -Errno.EINVAL;
        return file.ReadDirectory(p.User.Writable(a.A1, Math.Min(count, 1U << 20)));
    }

    public static long Ioctl(LinuxProcess p, in SyscallArgs a)
    {
        if (p.Files.Get(a.A0) is not { } file)
            return -Errno.EBADF;
        switch (AsInt(a.A1))
        {
            case FIOCLEX:
                p.Files.SetCloseOnExec(AsInt(a.A0), true);
                return 0;
            case FIONCLEX:
                p.Files.SetCloseOnExec(AsInt(a.A0), false);
                return 0;
            case FIONREAD when file is PipeEnd { IsReadEnd: true } pipe:
                p.User.Write(a.A2, pipe.Available);
                return 0;
            case FIONREAD when file is SocketEnd socket:
                p.User.Write(a.A2, (int)socket.Available);
                return 0;
            case FIONBIO:
                var on = p.User.Read<int>(a.A2) != 0;
                file.StatusFlags = on ? file.StatusFlags | Libc.O_NONBLOCK : file.StatusFlags & ~Libc.O_NONBLOCK;
                return 0;
            default:
                return file.Ioctl(a.A1);
        }
    }

    public static long Fcntl(LinuxProcess p, in SyscallArgs a)
    {
        const int F_DUPFD = 0, F_GETFD = 1, F_SETFD = 2, F_GETFL = 3, F_SETFL = 4, F_GETLK = 5, F_SETLK = 6, F_SETLKW = 7,
            F_NOTIFY = 1026, F_DUPFD_CLOEXEC = 1030, F_SETPIPE_SZ = 1031, F_GETPIPE_SZ = 1032, F_ADD_SEALS = 1033, F_GET_SEALS = 1034;
        const uint DN_MULTISHOT = 0x8000_0000;
        var fd = AsInt(a.A0);
        if (p.Files.Get(fd) is not { } file)
            return -Errno.EBADF;
        switch (AsInt(a.A1))
        {
            case F_DUPFD:
                return p.Files.Duplicate((ulong)fd, AsInt(a.A2), closeOnExec: false);
            case F_DUPFD_CLOEXEC:
                return p.Files.Duplicate((ulong)fd, AsInt(a.A2), closeOnExec: true);
            case F_GETFD:
                return p.Files.GetCloseOnExec(fd) ? 1 : 0;
            case F_SETFD:
                p.Files.SetCloseOnExec(fd, (a.A2 & 1) != 0);
                return 0;
            case F_GETFL:
                return file.StatusFlags;
            case F_SETFL:
                // Only O_APPEND and O_NONBLOCK can change, as on Linux.
                const int changeable = Libc.O_APPEND | Libc.O_NONBLOCK;
                file.StatusFlags = (file.StatusFlags & ~changeable) | (AsInt(a.A2) & changeable);
                return 0;
            case F_GETLK or F_SETLK or F_SETLKW:
                return 0; // one process: every lock is granted
            case F_SETPIPE_SZ:
                return file is PipeEnd pipe ? pipe.Resize((long)(uint)a.A2) : -Errno.EBADF;
            case F_GETPIPE_SZ:
                return file is PipeEnd pipeEnd ? pipeEnd.Capacity : -Errno.EBADF;
            case F_ADD_SEALS:
                return MemfdCalls.AddSeals(p, file, a.A2);
            case F_GET_SEALS:
                return MemfdCalls.GetSeals(file);
            case F_NOTIFY:
                // dnotify: no watch can be set (EINVAL, Linux's answer where dnotify is disabled), so removing the
                // descriptor's watches — a mask with no event, which Linux answers before looking at the file — has
                // nothing to remove and succeeds, as Linux's.
                return ((uint)a.A2 & ~DN_MULTISHOT) == 0 ? 0 : -Errno.EINVAL;
            default:
                return -Errno.EINVAL;
        }
    }

    public static long Dup(LinuxProcess p, in SyscallArgs a) => p.Files.Duplicate(a.A0, 0, closeOnExec: false);

    public static long Dup2(LinuxProcess p, in SyscallArgs a)
    {
        if (p.Files.Get(a.A0) is null)
            return -Errno.EBADF;
        return a.A0 == a.A1 ? (long)a.A0 : Dup3(p, new SyscallArgs(a.A0, a.A1, 0));
    }

    public static long Dup3(LinuxProcess p, in SyscallArgs a)
    {
        if (p.Files.Get(a.A0) is not { } file)
            return -Errno.EBADF;
        if (a.A0 == a.A1 || (a.A2 & ~(ulong)Libc.O_CLOEXEC) != 0)
            return -Errno.EINVAL;
        if (a.A1 >= FdTable.Limit)
            return -Errno.EBADF;
        p.Files.Set(AsInt(a.A1), file, closeOnExec: (a.A2 & Libc.O_CLOEXEC) != 0);
        return (long)a.A1;
    }

    public static long Access(LinuxProcess p, in SyscallArgs a) => AccessAt(p, Libc.AT_FDCWD, a.A0, AsInt(a.A1));

    public static long Faccessat(LinuxProcess p, in SyscallArgs a) => AccessAt(p, AsInt(a.A0), a.A1, AsInt(a.A2));

    private static long AccessAt(LinuxProcess p, int dirfd, ulong pathAddress, int mode)
    {
        if ((mode & ~7) != 0)
            return -Errno.EINVAL;
        var path = Resolve(p, dirfd, pathAddress, out var errno);
        if (path is null)
            return -errno;
        if (ProcFiles.Normalize(path) is { } proc)
            return ProcFiles.Stat(p, proc, followSymlinks: true, out _) is < 0 and var missing ? missing : (mode & 2) != 0 ? -Errno.EACCES : 0;
        return p.Root.Access(path, mode);
    }

    public static long Getcwd(LinuxProcess p, in SyscallArgs a)
    {
        var bytes = CString.Of(p.Cwd);
        if ((ulong)bytes.Length > a.A1)
            return -Errno.ERANGE;
        p.User.Write(a.A0, bytes);
        return bytes.Length;
    }

    public static long Chdir(LinuxProcess p, in SyscallArgs a)
    {
        var path = Resolve(p, Libc.AT_FDCWD, a.A0, out var errno);
        if (path is null)
            return -errno;
        var result = p.Root.Stat(path, followSymlinks: true, out var st);
        if (result < 0)
            return result;
        if ((st.st_mode & Kernel.S_IFMT) != Kernel.S_IFDIR)
            return -Errno.ENOTDIR;
        p.Cwd = path;
        return 0;
    }

    public static long Fchdir(LinuxProcess p, in SyscallArgs a)
    {
        if (p.Files.Get(a.A0) is not { } file)
            return -Errno.EBADF;
        if (!file.IsDirectory)
            return -Errno.ENOTDIR;
        p.Cwd = file.GuestPath;
        return 0;
    }

    public static long Readlink(LinuxProcess p, in SyscallArgs a) => ReadlinkAt(p, Libc.AT_FDCWD, a.A0, a.A1, a.A2);

    public static long Readlinkat(LinuxProcess p, in SyscallArgs a) => ReadlinkAt(p, AsInt(a.A0), a.A1, a.A2, a.A3);

    private static long ReadlinkAt(LinuxProcess p, int dirfd, ulong pathAddress, ulong buffer, ulong size)
    {
        if ((long)size <= 0)
            return -Errno.EINVAL;
        var path = Resolve(p, dirfd, pathAddress, out var errno);
        if (path is null)
            return -errno;
        var output = p.User.Writable(buffer, Math.Min(size, UserMemory.PathMax));
        return ProcFiles.Normalize(path) is { } proc ? ProcFiles.ReadLink(p, proc, output) : p.Root.ReadLink(path, output);
    }

    public static long Mkdir(LinuxProcess p, in SyscallArgs a)
    {
        var mode = AsInt(a.A1) & ~p.Umask;
        return WithPath(p, Libc.AT_FDCWD, a.A0, path => p.Root.MakeDirectory(path, mode));
    }

    public static long Mkdirat(LinuxProcess p, in SyscallArgs a)
    {
        var mode = AsInt(a.A2) & ~p.Umask;
        return WithPath(p, AsInt(a.A0), a.A1, path => p.Root.MakeDirectory(path, mode));
    }

    public static long Mknod(LinuxProcess p, in SyscallArgs a) => MakeNodeAt(p, Libc.AT_FDCWD, a.A0, (uint)a.A1);

    public static long Mknodat(LinuxProcess p, in SyscallArgs a) => MakeNodeAt(p, AsInt(a.A0), a.A1, (uint)a.A2);

    /// <summary>mknod as Linux's may_mknod: a regular file (type 0 too), a FIFO or a socket node in /tmp; a device is
    /// EPERM (no CAP_MKNOD), a directory EPERM, another type EINVAL.</summary>
    private static long MakeNodeAt(LinuxProcess p, int dirfd, ulong pathAddress, uint mode)
    {
        var type = mode & Kernel.S_IFMT;
        if (type == 0)
            type = Kernel.S_IFREG;
        if (type is not (Kernel.S_IFREG or Kernel.S_IFIFO or Kernel.S_IFSOCK))
            return type is Kernel.S_IFCHR or Kernel.S_IFBLK or Kernel.S_IFDIR ? -Errno.EPERM : -Errno.EINVAL;
        var permissions = (int)(mode & 0xfff) & ~p.Umask;
        return WithPath(p, dirfd, pathAddress, path => p.Root.MakeNode(path, type, permissions));
    }

    public static long Unlink(LinuxProcess p, in SyscallArgs a) => WithPath(p, Libc.AT_FDCWD, a.A0, path => p.Root.Unlink(path, directory: false));

    public static long Rmdir(LinuxProcess p, in SyscallArgs a) => WithPath(p, Libc.AT_FDCWD, a.A0, path => p.Root.Unlink(path, directory: true));

    public static long Unlinkat(LinuxProcess p, in SyscallArgs a)
    {
        if ((a.A2 & ~(ulong)Libc.AT_REMOVEDIR) != 0)
            return -Errno.EINVAL;
        var directory = (a.A2 & Libc.AT_REMOVEDIR) != 0;
        return WithPath(p, AsInt(a.A0), a.A1, path => p.Root.Unlink(path, directory));
    }

    public static long Symlink(LinuxProcess p, in SyscallArgs a)
    {
        var target = p.User.ReadString(a.A0);
        return WithPath(p, Libc.AT_FDCWD, a.A1, path => p.Root.Symlink(target, path));
    }

    public static long Symlinkat(LinuxProcess p, in SyscallArgs a)
    {
        var target = p.User.ReadString(a.A0);
        return WithPath(p, AsInt(a.A1), a.A2, path => p.Root.Symlink(target, path));
    }

    public static long Link(LinuxProcess p, in SyscallArgs a) => LinkAt(p, Libc.AT_FDCWD, a.A0, Libc.AT_FDCWD, a.A1, 0);

    public static long Linkat(LinuxProcess p, in SyscallArgs a) => LinkAt(p, AsInt(a.A0), a.A1, AsInt(a.A2), a.A3, AsInt(a.A4));

    /// <summary>linkat: the source's last link is followed only with AT_SYMLINK_FOLLOW; AT_EMPTY_PATH with "" links
    /// the descriptor's file (allowed to its opener, as Linux 6.10 allows it), as does /proc/self/fd/N followed.</summary>
    private static long LinkAt(LinuxProcess p, int fromDir, ulong fromAddress, int toDir, ulong toAddress, int flags)
    {
        if ((flags & ~(Libc.AT_SYMLINK_FOLLOW | Libc.AT_EMPTY_PATH)) != 0)
            return -Errno.EINVAL;
        var follow = (flags & Libc.AT_SYMLINK_FOLLOW) != 0;
        string? from = null;
        OpenFile? file = null;
        int errno;
        if ((flags & Libc.AT_EMPTY_PATH) != 0 && p.User.ReadString(fromAddress).Length == 0)
        {
            if (fromDir == Libc.AT_FDCWD)
                (from, follow) = (p.Cwd, true);
            else if ((file = p.Files.Get(fromDir)) is null)
                return -Errno.EBADF;
        }
        else
        {
            from = Resolve(p, fromDir, fromAddress, out errno);
            if (from is null)
                return -errno;
            if (ProcFiles.Normalize(from) is { } proc)
            {
                if (ProcFiles.Stat(p, proc, follow, out _) is < 0 and var missing)
                    return missing;
                if (!follow || (file = ProcFiles.OpenFileOf(p, proc)) is null)
                    return -Errno.EXDEV; // procfs's own entries are on another file system
            }
        }
        var to = Resolve(p, toDir, toAddress, out errno);
        if (to is null)
            return -errno;
        return file is not null ? p.Root.Link(file, to) : p.Root.Link(from!, to, follow);
    }

    public static long Rename(LinuxProcess p, in SyscallArgs a) => RenameAt(p, Libc.AT_FDCWD, a.A0, Libc.AT_FDCWD, a.A1);

    public static long Renameat(LinuxProcess p, in SyscallArgs a) => RenameAt(p, AsInt(a.A0), a.A1, AsInt(a.A2), a.A3);

    public static long Renameat2(LinuxProcess p, in SyscallArgs a) =>
        a.A4 != 0 ? -Errno.EINVAL : RenameAt(p, AsInt(a.A0), a.A1, AsInt(a.A2), a.A3);

    private static long RenameAt(LinuxProcess p, int fromDir, ulong fromAddress, int toDir, ulong toAddress)
    {
        var from = Resolve(p, fromDir, fromAddress, out var errno);
        if (from is null)
            return -errno;
        var to = Resolve(p, toDir, toAddress, out errno);
        return to is null ? -errno : p.Root.Rename(from, to);
    }

    public static long Umask(LinuxProcess p, in SyscallArgs a)
    {
        var old = p.Umask;
        p.Umask = AsInt(a.A0) & 0x1ff;
        return old;
    }

    /// <summary>truncate(path, length): ftruncate of the file the path names, links followed: EISDIR for a directory
    /// (ENOTDIR for "file/"), EROFS outside /tmp, EINVAL for a negative length or a FIFO or socket node.</summary>
    public static long Truncate(LinuxProcess p, in SyscallArgs a)
    {
        if ((long)a.A1 < 0)
            return -Errno.EINVAL;
        var path = Resolve(p, Libc.AT_FDCWD, a.A0, out var errno, out var directoryOnly);
        if (path is null)
            return -errno;
        // Opened for writing without waiting: a FIFO or socket node answers ENXIO there, where Linux's truncate says EINVAL.
        using var file = p.Root.Open(path, Libc.O_WRONLY | Libc.O_NONBLOCK | (directoryOnly ? Libc.O_DIRECTORY : 0), 0, out errno);
        if (file is null)
            return errno == Errno.ENXIO ? -Errno.EINVAL : -errno;
        return file.Truncate((long)a.A1);
    }

    /// <summary>close_range(first, last, flags): closes every open descriptor in [first, last], or with
    /// CLOSE_RANGE_CLOEXEC marks each close-on-exec; CLOSE_RANGE_UNSHARE changes nothing (no other process shares the
    /// table). EINVAL for first past last or another flag.</summary>
    public static long CloseRange(LinuxProcess p, in SyscallArgs a)
    {
        const ulong CLOSE_RANGE_UNSHARE = 2, CLOSE_RANGE_CLOEXEC = 4;
        uint first = (uint)a.A0, last = (uint)a.A1;
        if ((a.A2 & ~(CLOSE_RANGE_UNSHARE | CLOSE_RANGE_CLOEXEC)) != 0 || first > last)
            return -Errno.EINVAL;
        foreach (var (fd, _, _) in p.Files.Entries().ToList())
        {
            if ((uint)fd < first || (uint)fd > last)
                continue;
            if ((a.A2 & CLOSE_RANGE_CLOEXEC) != 0)
                p.Files.SetCloseOnExec(fd, true);
            else
                p.Files.Close((ulong)fd);
        }
        return 0;
    }

    public static long Ftruncate(LinuxProcess p, in SyscallArgs a)
    {
        if (p.Files.Get(a.A0) is not { } file || !file.CanWrite)
            return -Errno.EBADF;
        return (long)a.A1 < 0 ? -Errno.EINVAL : file.Truncate((long)a.A1);
    }

    /// <summary>fallocate(fd, mode, offset, len), in vfs_fallocate's order of checks; the file decides the rest.</summary>
    public static long Fallocate(LinuxProcess p, in SyscallArgs a)
    {
        var (offset, length) = ((long)a.A2, (long)a.A3);
        if (p.Files.Get(a.A0) is not { } file)
            return -Errno.EBADF;
        if (offset < 0 || length <= 0)
            return -Errno.EINVAL;
        if (!file.CanWrite)
            return -Errno.EBADF;
        if (offset > long.MaxValue - length)
            return -Errno.EFBIG;
        return file.Allocate(AsInt(a.A1), offset, length);
    }

    public static long Chmod(LinuxProcess p, in SyscallArgs a) => ChangeModeAt(p, Libc.AT_FDCWD, a.A0, AsInt(a.A1));

    /// <summary>fchmodat: the system call has no flags (glibc's AT_SYMLINK_NOFOLLOW is its own business: it opens the
    /// name O_PATH|O_NOFOLLOW and chmods /proc/self/fd/N).</summary>
    public static long Fchmodat(LinuxProcess p, in SyscallArgs a) => ChangeModeAt(p, AsInt(a.A0), a.A1, AsInt(a.A2));

    private static long ChangeModeAt(LinuxProcess p, int dirfd, ulong pathAddress, int mode) =>
        WithPath(p, dirfd, pathAddress, path =>
            ProcFiles.Normalize(path) is { } proc ? ProcFiles.ChangeMode(p, proc, mode) : p.Root.ChangeMode(path, mode, followSymlinks: true));

    public static long Fchmod(LinuxProcess p, in SyscallArgs a) =>
        p.Files.Get(a.A0) is { } file ? file.ChangeMode(AsInt(a.A1)) : -Errno.EBADF;

    public static long Chown(LinuxProcess p, in SyscallArgs a) => ChangeOwnerAt(p, Libc.AT_FDCWD, a.A0, (uint)a.A1, (uint)a.A2, 0);

    public static long Lchown(LinuxProcess p, in SyscallArgs a) =>
        ChangeOwnerAt(p, Libc.AT_FDCWD, a.A0, (uint)a.A1, (uint)a.A2, Libc.AT_SYMLINK_NOFOLLOW);

    public static long Fchownat(LinuxProcess p, in SyscallArgs a) =>
        (a.A4 & ~(ulong)(Libc.AT_SYMLINK_NOFOLLOW | Libc.AT_EMPTY_PATH)) != 0 ? -Errno.EINVAL
            : ChangeOwnerAt(p, AsInt(a.A0), a.A1, (uint)a.A2, (uint)a.A3, AsInt(a.A4));

    /// <summary>fchown: as Linux's, an O_PATH descriptor is EBADF (fchownat with AT_EMPTY_PATH takes one).</summary>
    public static long Fchown(LinuxProcess p, in SyscallArgs a) =>
        p.Files.Get(a.A0) is { } file && (file.StatusFlags & Libc.O_PATH) == 0 ? file.ChangeOwner((uint)a.A1, (uint)a.A2) : -Errno.EBADF;

    /// <summary>The chown family (a /tmp file takes any owner, see Ownership): the descriptor itself for AT_EMPTY_PATH and "", the
    /// open file for /proc/self/fd/N, else the path.</summary>
    private static long ChangeOwnerAt(LinuxProcess p, int dirfd, ulong pathAddress, uint uid, uint gid, int flags)
    {
        if ((flags & Libc.AT_EMPTY_PATH) != 0 && p.User.ReadString(pathAddress).Length == 0)
        {
            if (dirfd == Libc.AT_FDCWD)
                return ProcFiles.Normalize(p.Cwd) is null ? p.Root.ChangeOwner(p.Cwd, uid, gid, followSymlinks: true) : -Errno.EPERM;
            return p.Files.Get(dirfd) is { } file ? file.ChangeOwner(uid, gid) : -Errno.EBADF;
        }
        var follow = (flags & Libc.AT_SYMLINK_NOFOLLOW) == 0;
        return WithPath(p, dirfd, pathAddress, path => ProcFiles.Normalize(path) is { } proc
            ? ProcFiles.ChangeOwner(p, proc, uid, gid, follow)
            : p.Root.ChangeOwner(path, uid, gid, follow));
    }

    /// <summary>utimensat: a path (following its last link or not), or with a null path the descriptor itself.</summary>
    public static long Utimensat(LinuxProcess p, in SyscallArgs a)
    {
        var dirfd = AsInt(a.A0);
        var flags = AsInt(a.A3);
        if ((flags & ~(Libc.AT_SYMLINK_NOFOLLOW | Libc.AT_EMPTY_PATH)) != 0)
            return -Errno.EINVAL;
        Kernel.timespec[]? times = null;
        if (a.A2 != 0)
        {
            times = [p.User.Read<Kernel.timespec>(a.A2), p.User.Read<Kernel.timespec>(a.A2 + 16)];
            foreach (var t in times)
            {
                if (t.tv_nsec is not (Kernel.UTIME_NOW or Kernel.UTIME_OMIT) && (t.tv_nsec is < 0 or >= 1_000_000_000))
                    return -Errno.EINVAL;
            }
        }
        if (a.A1 == 0 || (flags & Libc.AT_EMPTY_PATH) != 0 && p.User.ReadString(a.A1).Length == 0)
        {
            if (a.A1 == 0 && dirfd == Libc.AT_FDCWD)
                return -Errno.EFAULT;
            if (a.A1 == 0 && flags != 0)
                return -Errno.EINVAL;
            return p.Files.Get(dirfd) is { } file ? file.SetTimes(times) : -Errno.EBADF;
        }
        var follow = (flags & Libc.AT_SYMLINK_NOFOLLOW) == 0;
        return WithPath(p, dirfd, a.A1, path => p.Root.SetTimes(path, times, follow));
    }

    public static long Futimesat(LinuxProcess p, in SyscallArgs a) => TimesFromTimevals(p, AsInt(a.A0), a.A1, a.A2);

    public static long Utimes(LinuxProcess p, in SyscallArgs a) => TimesFromTimevals(p, Libc.AT_FDCWD, a.A0, a.A1);

    /// <summary>utime: a struct utimbuf of two whole seconds (access, modification), or null for now.</summary>
    public static long Utime(LinuxProcess p, in SyscallArgs a)
    {
        Kernel.timespec[]? times = a.A1 == 0 ? null
            : [new Kernel.timespec { tv_sec = p.User.Read<long>(a.A1) }, new Kernel.timespec { tv_sec = p.User.Read<long>(a.A1 + 8) }];
        return WithPath(p, Libc.AT_FDCWD, a.A0, path => p.Root.SetTimes(path, times, followSymlinks: true));
    }

    private static long TimesFromTimevals(LinuxProcess p, int dirfd, ulong pathAddress, ulong timesAddress)
    {
        Kernel.timespec[]? times = null;
        if (timesAddress != 0)
        {
            var access = p.User.Read<Kernel.timeval>(timesAddress);
            var modification = p.User.Read<Kernel.timeval>(timesAddress + 16);
            if (access.tv_usec is < 0 or >= 1_000_000 || modification.tv_usec is < 0 or >= 1_000_000)
                return -Errno.EINVAL;
            times = [new Kernel.timespec { tv_sec = access.tv_sec, tv_nsec = access.tv_usec * 1000 },
                new Kernel.timespec { tv_sec = modification.tv_sec, tv_nsec = modification.tv_usec * 1000 }];
        }
        return WithPath(p, dirfd, pathAddress, path => p.Root.SetTimes(path, times, followSymlinks: true));
    }

    /// <summary>fsync and fdatasync: the host file's data (and for fsync its metadata) reach the host's disk.</summary>
    public static long Fsync(LinuxProcess p, in SyscallArgs a) => p.Files.Get(a.A0) is { } file ? file.Sync(dataOnly: false) : -Errno.EBADF;

    public static long Fdatasync(LinuxProcess p, in SyscallArgs a) => p.Files.Get(a.A0) is { } file ? file.Sync(dataOnly: true) : -Errno.EBADF;

    public static long Syncfs(LinuxProcess p, in SyscallArgs a) => p.Files.Get(a.A0) is { } file ? file.SyncFileSystem() : -Errno.EBADF;

    public static long Sync(LinuxProcess p, in SyscallArgs a) => p.Root.SyncAll();

    /// <summary>statfs(path, buf): the made-up statistics of the file system the path is on (FileSystemStats), once
    /// the path is found as stat would find it.</summary>
    public static long Statfs(LinuxProcess p, in SyscallArgs a)
    {
        _ = p.User.Writable(a.A1, (ulong)Unsafe.SizeOf<Kernel.statfs>());
        var path = Resolve(p, Libc.AT_FDCWD, a.A0, out var errno);
        if (path is null)
            return -errno;
        var found = ProcFiles.Normalize(path) is { } proc ? ProcFiles.Stat(p, proc, true, out _) : p.Root.Stat(path, true, out _);
        if (found < 0)
            return found;
        p.User.Write(a.A1, FileSystemStats.ForPath(p.Root, path));
        return 0;
    }

    public static long Fstatfs(LinuxProcess p, in SyscallArgs a)
    {
        if (p.Files.Get(a.A0) is not { } file)
            return -Errno.EBADF;
        p.User.Write(a.A1, FileSystemStats.ForFile(p.Root, file));
        return 0;
    }

    public static long SyncFileRange(LinuxProcess p, in SyscallArgs a)
    {
        const ulong ValidFlags = 1 | 2 | 4; // SYNC_FILE_RANGE_WAIT_BEFORE, _WRITE, _WAIT_AFTER
        if ((a.A3 & ~ValidFlags) != 0 || (long)a.A1 < 0 || (long)a.A2 < 0 || (long)a.A1 > long.MaxValue - (long)a.A2)
            return -Errno.EINVAL;
        return p.Files.Get(a.A0) is { } file ? file.SyncRange((long)a.A1, (long)a.A2, (uint)a.A3) : -Errno.EBADF;
    }

    /// <summary>fadvise64: advice is accepted (the host's page cache decides); pipes are ESPIPE, unknown advice EINVAL.</summary>
    public static long Fadvise64(LinuxProcess p, in SyscallArgs a)
    {
        if (p.Files.Get(a.A0) is not { } file)
            return -Errno.EBADF;
        if (file is PipeEnd)
            return -Errno.ESPIPE;
        return AsInt(a.A3) is < 0 or > 5 || (long)a.A2 < 0 ? -Errno.EINVAL : 0;
    }

    /// <summary>flock: nothing to share with; valid descriptors succeed.</summary>
    public static long Nothing(LinuxProcess p, in SyscallArgs a) => p.Files.Get(a.A0) is null ? -Errno.EBADF : 0;

    /// <summary>The absolute guest path a (dirfd, path) pair names; null with an errno where it names none.</summary>
    private static string? Resolve(LinuxProcess p, int dirfd, ulong pathAddress, out int errno) =>
        Resolve(p, dirfd, pathAddress, out errno, out _);

    /// <summary>As <see cref="Resolve(LinuxProcess, int, ulong, out int)"/>; <paramref name="directoryOnly"/> says the
    /// path ended in '/' (which the normalised path no longer shows): it must name a directory.</summary>
    private static string? Resolve(LinuxProcess p, int dirfd, ulong pathAddress, out int errno, out bool directoryOnly)
    {
        errno = 0;
        var path = p.User.ReadString(pathAddress);
        directoryOnly = path.Length > 1 && path.EndsWith('/');
        if (path.Length == 0)
        {
            errno = Errno.ENOENT;
            return null;
        }
        if (path.StartsWith('/'))
            return GuestPath.Combine("/", path);
        if (dirfd == Libc.AT_FDCWD)
            return GuestPath.Combine(p.Cwd, path);
        if (p.Files.Get(dirfd) is not { } directory)
        {
            errno = Errno.EBADF;
            return null;
        }
        if (!directory.IsDirectory)
        {
            errno = Errno.ENOTDIR;
            return null;
        }
        return GuestPath.Combine(directory.GuestPath, path);
    }

    private static long WithPath(LinuxProcess p, int dirfd, ulong pathAddress, Func<string, int> operation)
    {
        var path = Resolve(p, dirfd, pathAddress, out var errno);
        return path is null ? -errno : operation(path);
    }
}

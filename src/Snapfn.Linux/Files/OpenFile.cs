using Snapfn.Interop;
using Snapfn.Linux.Abi;

namespace Snapfn.Linux.Files;

/// <summary>
/// An open file description (what Linux shares between dup'd descriptors: the offset, the status flags). Each
/// operation returns its result or a negated errno, as the system call will. Subclasses say what they support;
/// the defaults are what Linux answers for a file that cannot do it.
/// </summary>
public abstract class OpenFile : IDisposable
{
    private int _references = 1;

    protected OpenFile(string guestPath, int statusFlags)
    {
        GuestPath = guestPath;
        StatusFlags = statusFlags;
    }

    /// <summary>The absolute path the program opened it by (for *at calls, readlink, messages).</summary>
    public string GuestPath { get; }

    /// <summary>O_ACCMODE, O_APPEND, O_NONBLOCK as set by open and F_SETFL.</summary>
    public int StatusFlags { get; set; }

    public bool CanRead => (StatusFlags & Libc.O_ACCMODE) != Libc.O_WRONLY && (StatusFlags & Libc.O_PATH) == 0;

    public bool CanWrite => (StatusFlags & Libc.O_ACCMODE) is Libc.O_WRONLY or Libc.O_RDWR && (StatusFlags & Libc.O_PATH) == 0;

    public virtual bool IsDirectory => false;

    /// <summary>The host descriptor behind the file, for mmap; null where there is none (devices, streams).</summary>
    public virtual SafeFd? HostFd => null;

    /// <summary>True when mmap must copy the file rather than map it: a file the program can truncate would leave
    /// mapped pages past its end, and the VMM touching those (to serve write(2) from them, to snapshot them)
    /// would take SIGBUS. Root files are read-only and never shrink.</summary>
    public virtual bool MapByCopy => false;

    public virtual long Read(Span<byte> buffer) => -Errno.EINVAL;

    /// <summary>True when a write that is EPIPE raises SIGPIPE too (pipes, stream sockets); af_unix's datagram and
    /// seqpacket sockets answer EPIPE without it.</summary>
    public virtual bool SignalsBrokenPipe => true;

    public virtual long Write(ReadOnlySpan<byte> buffer) => -Errno.EINVAL;

    public virtual long ReadAt(Span<byte> buffer, long offset) => -Errno.ESPIPE;

    public virtual long WriteAt(ReadOnlySpan<byte> buffer, long offset) => -Errno.ESPIPE;

    public virtual long Seek(long offset, int whence) => -Errno.ESPIPE;

    public abstract int Stat(out Kernel.stat st);

    /// <summary>What fstat tells of a file that lives on no file system (an eventfd, an epoll instance): Linux's
    /// anonymous inode, no file type bits, mode 0600.</summary>
    protected static int AnonymousInodeStat(ulong inode, out Kernel.stat st) => PseudoFileStat(0x180, inode, out st);

    /// <summary>What fstat tells of a file of a pseudo file system (pipefs, sockfs, anon_inodefs): its mode and inode,
    /// one link, 4 KiB blocks, nothing else.</summary>
    protected static int PseudoFileStat(uint mode, ulong inode, out Kernel.stat st)
    {
        st = default;
        st.st_mode = mode;
        st.st_nlink = 1;
        st.st_blksize = 4096;
        st.st_ino = inode;
        return 0;
    }

    public virtual long ReadDirectory(Span<byte> buffer) => -Errno.ENOTDIR;

    public virtual int Truncate(long length) => -Errno.EINVAL;

    /// <summary>fallocate: ENODEV for what is not a regular file (a pipe answers ESPIPE).</summary>
    public virtual int Allocate(int mode, long offset, long length) => -Errno.ENODEV;

    /// <summary>Nothing here is a terminal: TCGETS and friends are ENOTTY, which is what programs check for.</summary>
    public virtual long Ioctl(ulong request) => -Errno.ENOTTY;

    /// <summary>fchmod: only files of a writable mount change (EROFS for the others, which the VMM makes up or which
    /// are the read-only root's).</summary>
    public virtual int ChangeMode(int mode) => -Errno.EROFS;

    /// <summary>fchown: files the VMM makes up do not change (EROFS), as for fchmod.</summary>
    public virtual int ChangeOwner(uint uid, uint gid) => -Errno.EROFS;

    /// <summary>futimens: two timespecs (atime, mtime) or null for now; EROFS where nothing can change.</summary>
    public virtual int SetTimes(Kernel.timespec[]? times) => -Errno.EROFS;

    /// <summary>fsync and fdatasync: EINVAL for what has nothing to sync (pipes, devices, made-up files), as on Linux.</summary>
    public virtual int Sync(bool dataOnly) => -Errno.EINVAL;

    /// <summary>syncfs: nothing to write for files that live in no file system of the host.</summary>
    public virtual int SyncFileSystem() => 0;

    /// <summary>sync_file_range: ESPIPE for what is not a regular file, a directory or a link, as on Linux.</summary>
    public virtual int SyncRange(long offset, long length, uint flags) => -Errno.ESPIPE;

    /// <summary>What poll would report now (<see cref="PollEvents"/>): by default ready both ways, as Linux answers for
    /// a file that cannot make anyone wait (regular files, directories, devices).</summary>
    public virtual int Poll() => PollEvents.Default;

    /// <summary>True for files whose readiness changes (pipes, eventfds, streams): only these can join an epoll set;
    /// for the others epoll_ctl is EPERM, as on Linux.</summary>
    public virtual bool CanEpoll => false;

    /// <summary>Goes up each time the file's readiness may have changed (data in, data out, an end closed): what an
    /// edge-triggered epoll registration compares to report a change once.</summary>
    public virtual long ReadinessVersion => 0;

    /// <summary>True once every descriptor of the file has been closed (an epoll registration then lapses).</summary>
    internal bool IsClosed => Volatile.Read(ref _references) <= 0;

    internal void AddReference() => Interlocked.Increment(ref _references);

    /// <summary>Drops one descriptor's reference; the last one closes the file.</summary>
    internal void Release()
    {
        if (Interlocked.Decrement(ref _references) == 0)
            Dispose();
    }

    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    protected virtual void Dispose(bool disposing) { }
}

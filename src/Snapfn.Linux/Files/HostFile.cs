using System.Runtime.InteropServices;
using Snapfn.Interop;
using Snapfn.Linux.Abi;

namespace Snapfn.Linux.Files;

/// <summary>A file or directory of the root or of /tmp, opened on the host (with openat2 confined to its mount).
/// A file of a writable mount charges what its writes allocate to the mount's <see cref="WritableSpace"/>.</summary>
public sealed unsafe class HostFile : OpenFile
{
    private readonly SafeFd _fd;
    private readonly WritableSpace? _space;

    internal HostFile(SafeFd fd, string guestPath, int statusFlags, bool isDirectory, WritableSpace? space) : base(guestPath, statusFlags)
    {
        _fd = fd;
        IsDirectory = isDirectory;
        _space = space;
        if (space is not null && !isDirectory)
        {
            space.Opened(this);
            Seals = new FileSeals(FileSeals.F_SEAL_SEAL); // a tmpfs file's, as on Linux
        }
    }

    /// <summary>The file's seals: a file of /tmp has them (F_SEAL_SEAL alone, unless it is a memfd that allows sealing);
    /// null for the root's files, which cannot be sealed (EINVAL).</summary>
    internal FileSeals? Seals { get; set; }

    /// <summary>memfd_create's file: it has no name, so a snapshot cannot reopen it.</summary>
    internal bool IsMemfd { get; set; }

    public override bool IsDirectory { get; }

    /// <summary>The file lives where the program can write (/tmp), so it can shrink under a mapping.</summary>
    public bool OnWritableMount => _space is not null;

    public override SafeFd? HostFd => _fd;

    /// <summary>The writable mount's books, for a file of /tmp (null for the root's).</summary>
    internal WritableSpace? Space => _space;

    public override bool MapByCopy => OnWritableMount;

    public override long Read(Span<byte> buffer)
    {
        if (IsDirectory)
            return -Errno.EISDIR;
        _space?.MappedFiles?.BeforeAccess(_fd);
        return Result(Libc.read(_fd, buffer));
    }

    public override long Write(ReadOnlySpan<byte> buffer) =>
        _space is null ? Result(Libc.write(_fd, buffer)) : SealCheck(buffer.Length, offset: -1) is var refused and < 0 ? refused : Charged(buffer, offset: -1);

    public override long ReadAt(Span<byte> buffer, long offset)
    {
        if (IsDirectory)
            return -Errno.EISDIR;
        _space?.MappedFiles?.BeforeAccess(_fd);
        return Result(Libc.pread(_fd, buffer, offset));
    }

    public override long WriteAt(ReadOnlySpan<byte> buffer, long offset) =>
        _space is null ? Result(Libc.pwrite(_fd, buffer, offset)) : SealCheck(buffer.Length, offset) is var refused and < 0 ? refused : Charged(buffer, offset);

    /// <summary>0, or -EPERM for a write of <paramref name="length"/> bytes at <paramref name="offset"/> (-1: the file
    /// offset, or the end with O_APPEND) that the file's seals forbid.</summary>
    private long SealCheck(long length, long offset)
    {
        if (Seals is not { LimitsWrites: true } seals || length == 0)
            return 0;
        var size = Size();
        if (size < 0)
            return size;
        var at = offset >= 0 ? offset : (StatusFlags & Libc.O_APPEND) != 0 ? size : Result(Libc.lseek(_fd, 0, Kernel.SEEK_CUR));
        return at < 0 ? at : seals.CheckWrite(at + length, size);
    }

    /// <summary>st_size, or a negated errno.</summary>
    private long Size() => HostStat(out var st) is var failed and < 0 ? failed : st.st_size;

    /// <summary>The host's fstat of the descriptor as it is (owners not yet shown as the guest sees them): 0, or a
    /// negated errno.</summary>
    private long HostStat(out Kernel.stat st)
    {
        fixed (Kernel.stat* p = &st)
            return Result(Libc.fstat(_fd, (Libc.stat_buf*)p));
    }

    /// <summary>A write within the mount's quota: as much as fits, ENOSPC when nothing does; the blocks it took
    /// (not its length: a write far past the end makes a sparse file) are charged.</summary>
    private long Charged(ReadOnlySpan<byte> buffer, long offset)
    {
        if (buffer.IsEmpty || IsDirectory)
            return offset < 0 ? Result(Libc.write(_fd, buffer)) : Result(Libc.pwrite(_fd, buffer, offset));
        var before = AllocatedBytes();
        if (before < 0)
            return before;
        var allowed = (int)_space!.Allow(buffer.Length);
        if (allowed == 0)
            return -Errno.ENOSPC;
        var part = buffer[..allowed];
        // A MAP_SHARED mapping's stores reach the file before this write, and the write reaches the mapping after it.
        _space.MappedFiles?.BeforeAccess(_fd);
        var n = offset < 0 ? Result(Libc.write(_fd, part)) : Result(Libc.pwrite(_fd, part, offset));
        _space.MappedFiles?.AfterChange(_fd);
        var after = AllocatedBytes();
        if (after >= 0)
            _space.Charge(after - before);
        else
            _space.Changed();
        return n;
    }

    /// <summary>st_blocks in bytes, or a negated errno.</summary>
    private long AllocatedBytes() => HostStat(out var st) is var failed and < 0 ? failed : st.st_blocks * 512;

    public override long Seek(long offset, int whence) => Result(Libc.lseek(_fd, offset, whence));

    public override int Stat(out Kernel.stat st)
    {
        var result = (int)HostStat(out st);
        Ownership.ToGuest(ref st, _fd, _space);
        return result;
    }

    public override long ReadDirectory(Span<byte> buffer)
    {
        if (!IsDirectory)
            return -Errno.ENOTDIR;
        return Result(Libc.getdents64(_fd, buffer));
    }

    public override int Truncate(long length)
    {
        if (_space is null)
            return (int)Result(Libc.ftruncate(_fd, length));
        if (Seals is { LimitsSize: true } seals && length >= 0)
        {
            var size = Size();
            if (size < 0)
                return (int)size;
            if (seals.CheckResize(length, size) is var refused and < 0)
                return refused;
        }
        // Growing leaves a hole (no blocks on ext4 or tmpfs); whatever it does allocate is charged.
        return Charged(_space, () => (int)Result(Libc.ftruncate(_fd, length)));
    }

    /// <summary>
    /// fallocate of a file of /tmp, as tmpfs answers it: allocating (mode 0, or FALLOC_FL_KEEP_SIZE) or punching a hole
    /// (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE), other modes EOPNOTSUPP. An allocation is all or nothing: all of
    /// it must fit in the quota first (ENOSPC), and what it took is charged. Seals as tmpfs: F_SEAL_GROW refuses an
    /// allocation past the end, a write seal a hole (EPERM).
    /// </summary>
    public override int Allocate(int mode, long offset, long length)
    {
        const int KEEP_SIZE = 1, PUNCH_HOLE = 2;
        if (_space is null)
            return -Errno.EROFS; // the root's files are never open for writing
        if (IsDirectory)
            return -Errno.EISDIR;
        if (mode is not (0 or KEEP_SIZE or (PUNCH_HOLE | KEEP_SIZE)))
            return -Errno.EOPNOTSUPP;
        var punch = (mode & PUNCH_HOLE) != 0;
        if (Seals is { } seals)
        {
            if (punch && (seals.Value & (FileSeals.F_SEAL_WRITE | FileSeals.F_SEAL_FUTURE_WRITE)) != 0)
                return -Errno.EPERM;
            if (!punch && (seals.Value & FileSeals.F_SEAL_GROW) != 0)
            {
                var size = Size();
                if (size < 0)
                    return (int)size;
                if (offset + length > size)
                    return -Errno.EPERM;
            }
        }
        if (!punch && _space.Allow(length) < length)
            return -Errno.ENOSPC;
        return Charged(_space, () => (int)Result(Libc.fallocate(_fd, mode, offset, length)));
    }

    /// <summary>A change to the file's blocks (a truncation, an allocation) made by <paramref name="change"/>, with a
    /// MAP_SHARED mapping's stores written before it and read back after, and the blocks it took or freed charged.</summary>
    private int Charged(WritableSpace space, Func<int> change)
    {
        var before = AllocatedBytes();
        if (before < 0)
            return (int)before;
        space.MappedFiles?.BeforeAccess(_fd);
        var result = change();
        space.MappedFiles?.AfterChange(_fd);
        var after = AllocatedBytes();
        if (after >= 0)
            space.Charge(after - before);
        else
            space.Changed();
        return result;
    }

    private bool IsPath => (StatusFlags & Libc.O_PATH) != 0;

    /// <summary>fchmod: permission bits only (never setuid, setgid or sticky on the host), on a writable mount only,
    /// and never on the mount point itself, whose 0700 keeps the rest private (EPERM); O_PATH is EBADF, as Linux's.</summary>
    public override int ChangeMode(int mode) => IsPath ? -Errno.EBADF : ChangeMode(mode, throughPath: false);

    /// <summary>chmod of /proc/self/fd/N for this file: the inode it holds changes, O_PATH or not (glibc's
    /// fchmodat(AT_SYMLINK_NOFOLLOW) does this), and a link itself is EOPNOTSUPP, as Linux's file systems answer.</summary>
    public int ChangeModeThroughPath(int mode) => ChangeMode(mode, throughPath: true);

    private int ChangeMode(int mode, bool throughPath)
    {
        if (_space is null)
            return -Errno.EROFS;
        if (IsMountPoint())
            return -Errno.EPERM;
        var bits = (uint)mode & RootFileSystem.PermissionBits;
        // fchmod refuses an O_PATH descriptor on the host too: the host's /proc/self/fd link reaches exactly this inode.
        return throughPath ? RootFileSystem.ThroughProcFd(_fd, (f, p) => Libc.fchmodat(f, p, bits, 0)) : (int)Result(Libc.fchmod(_fd, bits));
    }

    /// <summary>fchown (O_PATH allowed: the caller refuses it where Linux does): a file of /tmp takes the owner
    /// (<see cref="Ownership.Change"/>); EROFS for the root's files.</summary>
    public override int ChangeOwner(uint uid, uint gid)
    {
        if (_space is null)
            return -Errno.EROFS;
        var result = Stat(out var st);
        return result < 0 ? result : Ownership.Change(_space, _fd, st, uid, gid);
    }

    public override int SetTimes(Kernel.timespec[]? times)
    {
        if (IsPath)
            return -Errno.EBADF;
        if (_space is null)
            return -Errno.EROFS;
        fixed (Kernel.timespec* t = times)
            return (int)Result(Libc.futimens(_fd, t));
    }

    /// <summary>fsync and fdatasync on the host file: its data reaches the host's disk, as the program asked.</summary>
    public override int Sync(bool dataOnly)
    {
        if (IsPath)
            return -Errno.EBADF;
        _space?.MappedFiles?.BeforeAccess(_fd);
        return (int)Result(dataOnly ? Libc.fdatasync(_fd) : Libc.fsync(_fd));
    }

    /// <summary>syncfs of the host file system a writable mount's file lives on; the read-only root has nothing to write.</summary>
    public override int SyncFileSystem() => IsPath ? -Errno.EBADF : _space is null ? 0 : (int)Result(Libc.syncfs(_fd));

    public override int SyncRange(long offset, long length, uint flags) =>
        IsPath ? -Errno.EBADF : (int)Result(Libc.sync_file_range(_fd, offset, length, flags));

    private bool IsMountPoint()
    {
        Kernel.stat mine, root;
        return IsDirectory && Libc.fstat(_fd, (Libc.stat_buf*)&mine) == 0 && Libc.fstat(_space!.Directory, (Libc.stat_buf*)&root) == 0 &&
               mine.st_dev == root.st_dev && mine.st_ino == root.st_ino;
    }

    /// <summary>The host call's result, or the negated errno it failed with.</summary>
    internal static long Result(long value) => value >= 0 ? value : -Marshal.GetLastPInvokeError();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _fd.Dispose();
            _space?.Closed(this);
        }
        base.Dispose(disposing);
    }
}

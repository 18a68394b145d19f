using System.Runtime.InteropServices;
using System.Text;
using Snapfn.Interop;
using Snapfn.Linux.Abi;

namespace Snapfn.Linux.Files;

/// <summary>A host directory shown to the program at <paramref name="GuestPath"/>; only writable mounts can change,
/// and what they hold on the host is bounded by <see cref="Quota"/>.</summary>
public sealed record RootMount(string GuestPath, string HostDirectory, bool Writable)
{
    /// <summary>For a writable mount: how much it may hold (null: <see cref="TmpQuota.Default"/>).</summary>
    public TmpQuota? Quota { get; init; }
}

/// <summary>
/// The program's file system: a read-only root directory, mounts over it (a private writable /tmp, read-only
/// folders such as a function's code) and the few synthetic files programs need (/dev/null, /dev/zero,
/// /dev/urandom, /dev/random, /proc/self/exe, /proc/cpuinfo and the CPU lists under /sys). Every path is resolved by the host kernel with openat2 and
/// RESOLVE_IN_ROOT against the mount's own directory: "..", absolute symlinks and magic links cannot leave it.
/// Operations return a result or a negated errno (failed lookups are common: no exceptions on that path).
/// </summary>
public sealed unsafe class RootFileSystem : IDisposable
{
    private const ulong Resolve = Libc.RESOLVE_IN_ROOT | Libc.RESOLVE_NO_MAGICLINKS | Libc.RESOLVE_NO_XDEV;
    private const int OpenFlagsPassed = Libc.O_ACCMODE | Libc.O_CREAT | Libc.O_EXCL | Libc.O_TRUNC | Libc.O_APPEND |
        Libc.O_DIRECTORY | Libc.O_NOFOLLOW | Libc.O_PATH | Libc.O_TMPFILE;
    private const int ProcSelfExeInode = 0x200;
    private const int MountParentInode = 0x201;

    private readonly MountPoint[] _mounts;

    public RootFileSystem(string rootDirectory, IEnumerable<RootMount> mounts)
    {
        ArgumentNullException.ThrowIfNull(mounts);
        var all = new List<MountPoint>();
        try
        {
            all.Add(MountPoint.Open(new RootMount("/", rootDirectory, Writable: false)));
            foreach (var mount in mounts)
            {
                if (!mount.GuestPath.StartsWith('/') || GuestPath.Combine("/", mount.GuestPath) != mount.GuestPath || mount.GuestPath == "/")
                    throw new ArgumentException($"mount point '{mount.GuestPath}' must be an absolute, normalised path other than /", nameof(mounts));
                all.Add(MountPoint.Open(mount));
            }
        }
        catch
        {
            foreach (var m in all)
                m.Dispose();
            throw;
        }
        // Longest first, so that the innermost mount wins.
        _mounts = [.. all.OrderByDescending(m => m.Mount.GuestPath.Length)];
    }

    /// <summary>The program's absolute path, for /proc/self/exe; set by the loader.</summary>
    public string? ExecutablePath { get; set; }

    /// <summary>The FIFOs the program has open (set by the process); null: a FIFO opens as one with no other end (ENXIO).</summary>
    internal NamedPipes? Fifos { get; set; }

    /// <summary>Opens <paramref name="path"/> (absolute, normalised) with Linux open flags; null and an errno on failure.
    /// A FIFO opens as <see cref="NamedPipes"/> says: <paramref name="waiter"/> is the thread that would wait for its
    /// other end (errno <see cref="NamedPipes.MustWait"/>), or null for a caller that cannot wait. A file opened on the
    /// host is known to the program as <paramref name="shownAs"/> if given (a memfd's name).</summary>
    public OpenFile? Open(string path, int flags, int mode, out int errno, int? waiter = null, string? shownAs = null)
    {
        errno = 0;
        if (path == "/proc/self/exe" && ExecutablePath is { } exe)
            path = exe;
        if (DeviceFile.ForPath(path) is { } device)
            return new DeviceFile(device, path, flags & (Libc.O_ACCMODE | Libc.O_APPEND | Libc.O_NONBLOCK));
        if (ContentFile.Known.TryGetValue(path, out var content))
        {
            if ((flags & Libc.O_ACCMODE) != Libc.O_RDONLY)
            {
                errno = Errno.EACCES;
                return null;
            }
            return new ContentFile(path, content(), flags & Libc.O_ACCMODE);
        }
        // As Linux's open: O_PATH keeps only O_DIRECTORY and O_NOFOLLOW (openat2 would refuse the others).
        if ((flags & Libc.O_PATH) != 0)
            flags &= Libc.O_PATH | Libc.O_DIRECTORY | Libc.O_NOFOLLOW;
        // O_CREAT|O_EXCL and O_NOFOLLOW do not follow a last link (EEXIST, ELOOP); O_CREAT alone creates its target.
        var followLast = (flags & Libc.O_NOFOLLOW) == 0 && (flags & (Libc.O_CREAT | Libc.O_EXCL)) != (Libc.O_CREAT | Libc.O_EXCL);
        if (Resolved(path, followLast) is not { } resolved)
        {
            errno = Errno.ELOOP;
            return null;
        }
        var (mount, relative) = Find(resolved);
        var tmpFile = (flags & Libc.O_TMPFILE) == Libc.O_TMPFILE;
        var writes = (flags & Libc.O_ACCMODE) != Libc.O_RDONLY || (flags & (Libc.O_CREAT | Libc.O_TRUNC)) != 0 || tmpFile;
        if (writes && !mount.Mount.Writable)
        {
            errno = Errno.EROFS;
            return null;
        }
        var creates = tmpFile || (flags & Libc.O_CREAT) != 0;
        var exclusive = tmpFile || (flags & Libc.O_EXCL) != 0;
        var noRoom = false;
        if (creates && mount.Space is { } full && full.ReserveEntry() < 0)
        {
            // No entry is left: a file that exists can still be opened, as on a disk out of inodes.
            if (exclusive)
            {
                errno = Errno.ENOSPC;
                return null;
            }
            flags &= ~Libc.O_CREAT;
            creates = false;
            noRoom = true;
        }
        // O_NONBLOCK on the host: a host open of a FIFO must never wait (a read end then opens at once and a write end
        // is ENXIO, and either way the FIFO is served below as the layer's own pipe); regular files ignore it.
        var passed = (flags & OpenFlagsPassed) | Libc.O_CLOEXEC | ((flags & Libc.O_PATH) == 0 ? Libc.O_NOCTTY | Libc.O_NONBLOCK : 0);
        var created = exclusive;
        SafeFd? handle;
        if (creates && !exclusive)
        {
            // Whether the file is new decides whether its mode is set below: open it as it is, else create it alone.
            handle = OpenAt(mount, relative, passed & ~Libc.O_CREAT, 0, out errno);
            if (handle is null && errno == Errno.ENOENT)
            {
                handle = OpenAt(mount, relative, passed | Libc.O_EXCL, (uint)mode & 0xfff, out errno);
                created = handle is not null;
                // EEXIST: the last name is a dangling link, which O_CREAT follows (and O_EXCL does not).
                if (handle is null && errno == Errno.EEXIST)
                    handle = OpenAt(mount, relative, passed, (uint)mode & 0xfff, out errno);
            }
        }
        else
        {
            handle = OpenAt(mount, relative, passed, (uint)mode & 0xfff, out errno);
        }
        if (handle is null)
        {
            if (noRoom && errno == Errno.ENOENT)
                errno = Errno.ENOSPC;
            return errno == Errno.ENXIO ? OpenFifo(mount, relative, path, flags, waiter, out errno) : null;
        }
        // The host applied the daemon's umask on top of the program's (already out of mode): set the mode the program asked for.
        if (created && Libc.fchmod(handle, (uint)mode & 0xfff) < 0)
        {
            errno = Marshal.GetLastPInvokeError();
            handle.Dispose();
            return null;
        }
        if (mount.Space is { } space)
        {
            if (creates)
                space.EntryCreated(surely: created);
            if ((flags & Libc.O_TRUNC) != 0)
                space.Changed();
        }
        Kernel.stat st;
        if (Libc.fstat(handle, (Libc.stat_buf*)&st) < 0)
        {
            errno = Marshal.GetLastPInvokeError();
            handle.Dispose();
            return null;
        }
        if ((st.st_mode & Kernel.S_IFMT) == Kernel.S_IFIFO && (flags & Libc.O_PATH) == 0)
        {
            handle.Dispose();
            return OpenFifo(mount, relative, path, flags, waiter, out errno);
        }
        var isDirectory = (st.st_mode & Kernel.S_IFMT) == Kernel.S_IFDIR;
        return new HostFile(handle, shownAs ?? path, flags & (Libc.O_ACCMODE | Libc.O_APPEND | Libc.O_NONBLOCK | Libc.O_PATH), isDirectory, mount.Space);
    }

    /// <summary>The FIFO (or, for ENXIO, the socket) at <paramref name="relative"/>, whose host open answered ENXIO or
    /// gave a FIFO: its inode is held O_PATH and served by <see cref="Fifos"/>; anything else stays ENXIO, as Linux
    /// answers for a socket.</summary>
    private PipeEnd? OpenFifo(MountPoint mount, string relative, string path, int flags, int? waiter, out int errno)
    {
        var node = OpenAt(mount, relative, Libc.O_PATH | Libc.O_CLOEXEC | (flags & Libc.O_NOFOLLOW), 0, out errno);
        if (node is null)
            return null;
        Kernel.stat st;
        if (Libc.fstat(node, (Libc.stat_buf*)&st) < 0 || (st.st_mode & Kernel.S_IFMT) != Kernel.S_IFIFO || Fifos is null)
        {
            node.Dispose();
            errno = Errno.ENXIO;
            return null;
        }
        return Fifos.Open(node, path, flags, waiter, mount.Space, out errno);
    }

    /// <summary>stat or lstat of <paramref name="path"/>: 0 or a negated errno.</summary>
    public int Stat(string path, bool followSymlinks, out Kernel.stat st)
    {
        st = default;
        if (path == "/proc/self/exe" && ExecutablePath is { } exe)
        {
            if (followSymlinks)
                return Stat(exe, followSymlinks: true, out st);
            st.st_mode = Kernel.S_IFLNK | 0x1ff;
            st.st_nlink = 1;
            st.st_ino = ProcSelfExeInode;
            st.st_size = Encoding.UTF8.GetByteCount(exe);
            return 0;
        }
        if (DeviceFile.ForPath(path) is { } device)
            return DeviceFile.Stat(device, out st);
        if (ContentFile.Known.TryGetValue(path, out var content))
            return ContentFile.Stat(path, content().Length, out st);
        if (Resolved(path, followSymlinks) is not { } resolved)
            return -Errno.ELOOP;
        var (mount, relative) = Find(resolved);
        using var fd = OpenAt(mount, relative, Libc.O_PATH | Libc.O_CLOEXEC | (followSymlinks ? 0 : Libc.O_NOFOLLOW), 0, out var errno);
        if (fd is null)
            return errno == Errno.ENOENT && HoldsAMountPoint(path) ? MountParentStat(out st) : -errno;
        int result;
        fixed (Kernel.stat* p = &st)
            result = (int)HostFile.Result(Libc.fstat(fd, (Libc.stat_buf*)p));
        Ownership.ToGuest(ref st, fd, mount.Space);
        return result;
    }

    /// <summary>Whether <paramref name="path"/> is a directory above a mount point (/snapfn above /snapfn/node).</summary>
    private bool HoldsAMountPoint(string path) =>
        _mounts.Any(m => m.Mount.GuestPath != path && GuestPath.IsUnder(m.Mount.GuestPath, path));

    /// <summary>
    /// A directory above a mount point that the root itself lacks (roots are built without /snapfn): on Linux a mount
    /// point's parents exist, and programs rely on it — node's realpath of its main script lstat()s /snapfn before
    /// /snapfn/node and gave up with ENOENT. It reads as an empty, read-only directory of root's.
    /// </summary>
    private static int MountParentStat(out Kernel.stat st)
    {
        st = default;
        st.st_mode = Kernel.S_IFDIR | 0x16d; // 0555
        st.st_nlink = 2;
        st.st_ino = MountParentInode;
        st.st_blksize = 4096;
        return 0;
    }

    /// <summary>readlink of <paramref name="path"/> into <paramref name="buffer"/>: the byte count or a negated errno.</summary>
    public long ReadLink(string path, Span<byte> buffer)
    {
        if (path == "/proc/self/exe" && ExecutablePath is { } exe)
        {
            var bytes = Encoding.UTF8.GetBytes(exe);
            var n = Math.Min(bytes.Length, buffer.Length);
            bytes.AsSpan(0, n).CopyTo(buffer);
            return n;
        }
        if (DeviceFile.ForPath(path) is not null)
            return -Errno.EINVAL;
        if (Resolved(path, followLast: false) is not { } resolved)
            return -Errno.ELOOP;
        var (mount, relative) = Find(resolved);
        using var fd = OpenAt(mount, relative, Libc.O_PATH | Libc.O_NOFOLLOW | Libc.O_CLOEXEC, 0, out var errno);
        if (fd is null)
            return -errno;
        var length = Libc.readlinkat(fd, "\0"u8, buffer);
        // readlinkat on a non-symlink with an empty path is ENOENT; Linux's readlink says EINVAL.
        return length >= 0 ? length : Marshal.GetLastPInvokeError() == Errno.ENOENT ? -Errno.EINVAL : -Marshal.GetLastPInvokeError();
    }

    /// <summary>access(2) for a process that is root inside its VM: existence, EROFS for W_OK on a read-only mount,
    /// EACCES for X_OK without an execute bit.</summary>
    public int Access(string path, int mode)
    {
        var result = Stat(path, followSymlinks: true, out var st);
        if (result < 0)
            return result;
        if ((mode & 2) != 0 && DeviceFile.ForPath(path) is null && !Find(path).Mount.Mount.Writable)
            return -Errno.EROFS;
        if ((mode & 1) != 0 && (st.st_mode & 0x49) == 0)
            return -Errno.EACCES;
        return 0;
    }

    /// <summary>
    /// chmod of <paramref name="path"/> (following a last symlink, inside the root, or not: EOPNOTSUPP for a link, as
    /// Linux). Only a writable mount's entries change (EROFS elsewhere), and only their permission bits: setuid, setgid
    /// and sticky never reach the host file. The mount point itself keeps the host's 0700 (EPERM): it is what keeps
    /// everything below it private to the daemon's user, whatever modes the program gives its files.
    /// </summary>
    public int ChangeMode(string path, int mode, bool followSymlinks)
    {
        if (IsSynthetic(path))
            return -Errno.EROFS;
        if (Resolved(path, followSymlinks) is not { } resolved)
            return -Errno.ELOOP;
        var (mount, relative) = Find(resolved);
        using var fd = OpenAt(mount, relative, Libc.O_PATH | Libc.O_CLOEXEC | (followSymlinks ? 0 : Libc.O_NOFOLLOW), 0, out var errno);
        if (fd is null)
            return -errno;
        if (!mount.Mount.Writable)
            return -Errno.EROFS;
        if (relative == ".")
            return -Errno.EPERM;
        return ThroughProcFd(fd, (f, p) => Libc.fchmodat(f, p, (uint)mode & PermissionBits, 0));
    }

    /// <summary>chown and lchown of <paramref name="path"/>: found as stat finds it, EROFS outside a writable mount,
    /// where <see cref="Ownership.Change"/> gives it the owner.</summary>
    public int ChangeOwner(string path, uint uid, uint gid, bool followSymlinks)
    {
        if (IsSynthetic(path))
            return Stat(path, followSymlinks, out _) is < 0 and var missing ? missing : -Errno.EROFS;
        if (Resolved(path, followSymlinks) is not { } resolved)
            return -Errno.ELOOP;
        // Found as stat finds it (the same lookup), before the mount is asked for write access, as Linux's order is.
        var (mount, relative) = Find(resolved);
        using var fd = OpenAt(mount, relative, Libc.O_PATH | Libc.O_CLOEXEC | (followSymlinks ? 0 : Libc.O_NOFOLLOW), 0, out var errno);
        if (fd is null)
            return errno == Errno.ENOENT && HoldsAMountPoint(path) ? -Errno.EROFS : -errno;
        if (mount.Space is not { } space)
            return -Errno.EROFS;
        Kernel.stat st;
        if (Libc.fstat(fd, (Libc.stat_buf*)&st) < 0)
            return -Marshal.GetLastPInvokeError();
        Ownership.ToGuest(ref st, fd, space);
        return Ownership.Change(space, fd, st, uid, gid);
    }

    /// <summary>utimensat of <paramref name="path"/>: <paramref name="times"/> holds atime and mtime (UTIME_NOW and
    /// UTIME_OMIT as Linux), or is null for now. Without following, the link itself is changed (its name in its
    /// parent); following, the target found inside the root. EROFS outside a writable mount.</summary>
    public unsafe int SetTimes(string path, Kernel.timespec[]? times, bool followSymlinks)
    {
        if (IsSynthetic(path))
            return -Errno.EROFS;
        fixed (Kernel.timespec* t = times)
        {
            var timesPointer = t;
            if (!followSymlinks)
                return Stat(path, followSymlinks: false, out _) is < 0 and var missing ? missing
                    : InParent(path, (parent, name) => Libc.utimensat(parent, name, timesPointer, Libc.AT_SYMLINK_NOFOLLOW));
            if (Resolved(path, followLast: true) is not { } resolved)
                return -Errno.ELOOP;
            var (mount, relative) = Find(resolved);
            using var fd = OpenAt(mount, relative, Libc.O_PATH | Libc.O_CLOEXEC, 0, out var errno);
            if (fd is null)
                return -errno;
            if (!mount.Mount.Writable)
                return -Errno.EROFS;
            return ThroughProcFd(fd, (f, p) => Libc.utimensat(f, p, timesPointer, 0));
        }
    }

    /// <summary>sync(2) for the program: syncfs of each writable mount (its world), never the host's every file system.</summary>
    public int SyncAll()
    {
        foreach (var mount in _mounts)
        {
            if (!mount.Mount.Writable)
                continue;
            using var fd = OpenAt(mount, ".", Libc.O_RDONLY | Libc.O_DIRECTORY | Libc.O_CLOEXEC, 0, out _);
            if (fd is not null)
                _ = Libc.syncfs(fd);
        }
        return 0;
    }

    /// <summary>The bits chmod may set on a host file: read, write and execute for owner, group and others.</summary>
    internal const int PermissionBits = 0x1ff;

    internal delegate int FdPathOperation(SafeFd fd, byte* path);

    /// <summary>Runs a path call on exactly the inode <paramref name="fd"/> (O_PATH, opened inside its mount) holds,
    /// through its /proc/self/fd link: the host resolves nothing else. The inode must not be a symlink, which the
    /// call would follow on the host.</summary>
    internal static int ThroughProcFd(SafeFd fd, FdPathOperation operation)
    {
        Kernel.stat st;
        if (Libc.fstat(fd, (Libc.stat_buf*)&st) < 0)
            return -Marshal.GetLastPInvokeError();
        if ((st.st_mode & Kernel.S_IFMT) == Kernel.S_IFLNK)
            return -Errno.EOPNOTSUPP;
        fixed (byte* p = CString.Of($"/proc/self/fd/{fd.DangerousGetHandle()}"))
            return (int)HostFile.Result(operation(fd, p));
    }

    private static bool IsSynthetic(string path) =>
        path == "/proc/self/exe" || DeviceFile.ForPath(path) is not null || ContentFile.Known.ContainsKey(path);

    public bool IsDirectory(string path) =>
        Stat(path, followSymlinks: true, out var st) == 0 && (st.st_mode & Kernel.S_IFMT) == Kernel.S_IFDIR;

    /// <summary>mkdir with <paramref name="mode"/> (the program's umask already out of it); the daemon's own umask,
    /// which the host applied too, is undone by setting the mode again.</summary>
    public int MakeDirectory(string path, int mode) =>
        Creating(path, () => InParent(path, (parent, name) =>
            Libc.mkdirat(parent, name, (uint)mode & 0xfff) < 0 ? -1 : Libc.fchmodat(parent, name, (uint)mode & 0xfff, 0)));

    /// <summary>mknod of a regular file, a FIFO or a socket node (<paramref name="type"/>; the caller refuses the
    /// others) with <paramref name="mode"/>'s permission bits, as <see cref="MakeDirectory"/> sets them.</summary>
    public int MakeNode(string path, uint type, int mode) =>
        Creating(path, () => InParent(path, (parent, name) =>
            Libc.mknodat(parent, name, type | ((uint)mode & PermissionBits), 0) < 0 ? -1 : Libc.fchmodat(parent, name, (uint)mode & PermissionBits, 0)));

    public int Unlink(string path, bool directory) =>
        Freeing(path, InParent(path, (parent, name) => Libc.unlinkat(parent, name, directory ? Libc.AT_REMOVEDIR : 0)));

    public int Symlink(string target, string linkPath)
    {
        var targetBytes = CString.Of(target);
        return Creating(linkPath, () => InParent(linkPath, (parent, name) =>
        {
            fixed (byte* t = targetBytes)
                return Libc.symlinkat(t, parent, name);
        }));
    }

    /// <summary>
    /// link(2) of <paramref name="from"/> (its last link followed or not) as <paramref name="to"/>: hard links within
    /// one writable mount, made on the host between the two names' parents (linkat without following: nothing the
    /// guest named is followed on the host). Linux's order: the source found, then the new name (its parent, EEXIST,
    /// EROFS), then EXDEV across mounts, then EPERM for a directory.
    /// </summary>
    public int Link(string from, string to, bool followFrom)
    {
        var found = Stat(from, followFrom, out var st);
        if (found < 0)
            return found;
        var target = LinkTarget(to, out var targetMount);
        if (target < 0)
            return target;
        if (IsSynthetic(from) || Resolved(from, followFrom) is not { } source || !ReferenceEquals(Find(source).Mount, targetMount))
            return -Errno.EXDEV;
        if ((st.st_mode & Kernel.S_IFMT) == Kernel.S_IFDIR)
            return -Errno.EPERM;
        return Creating(to, () => InParent(source, (fromParent, fromName) =>
            InParent(to, (toParent, toName) => Libc.linkat(fromParent, fromName, toParent, toName, 0))));
    }

    /// <summary>linkat(AT_EMPTY_PATH) of an open file, and link of /proc/self/fd/N followed: the inode the descriptor
    /// holds gets the name (an O_TMPFILE file too, unless opened O_EXCL: ENOENT, as Linux), through the host's
    /// /proc/self/fd link of our own descriptor; files the VMM makes up or pipes are on another file system (EXDEV).</summary>
    public int Link(OpenFile file, string to)
    {
        var target = LinkTarget(to, out var targetMount);
        if (target < 0)
            return target;
        if (file is not HostFile { Space: { } space, HostFd: { } fd } host || !ReferenceEquals(space, targetMount.Space))
            return -Errno.EXDEV;
        if (host.IsDirectory)
            return -Errno.EPERM;
        if (file.Stat(out var st) == 0 && (st.st_mode & Kernel.S_IFMT) == Kernel.S_IFLNK)
            return Link(file.GuestPath, to, followFrom: false); // the host would follow the link: link it by its name
        return Creating(to, () => InParent(to, (toParent, toName) =>
            ThroughProcFd(fd, (self, path) => Libc.linkat(self, path, toParent, toName, Libc.AT_SYMLINK_FOLLOW))));
    }

    /// <summary>The checks Linux's filename_create makes of a new name: its parent exists (ENOENT, ENOTDIR), the name
    /// does not (EEXIST), the mount is writable (EROFS); and the mount the name is on.</summary>
    private int LinkTarget(string to, out MountPoint mount)
    {
        mount = Find(to).Mount;
        if (GuestPath.Split(to) is not var (parent, _))
            return -Errno.EEXIST;
        var parentFound = Stat(parent, followSymlinks: true, out var parentStat);
        if (parentFound < 0)
            return parentFound;
        if ((parentStat.st_mode & Kernel.S_IFMT) != Kernel.S_IFDIR)
            return -Errno.ENOTDIR;
        if (Stat(to, followSymlinks: false, out _) == 0 || IsSynthetic(to))
            return -Errno.EEXIST;
        if (Resolved(parent, followLast: true) is { } resolvedParent)
            mount = Find(GuestPath.Combine(resolvedParent, GuestPath.Split(to)!.Value.Name)).Mount;
        return mount.Mount.Writable ? 0 : -Errno.EROFS;
    }

    public int Rename(string from, string to)
    {
        if (!ReferenceEquals(Find(from).Mount, Find(to).Mount))
            return -Errno.EXDEV;
        // Renaming over a file frees it.
        return Freeing(to, InParent(from, (fromParent, fromName) =>
            InParent(to, (toParent, toName) => Libc.renameat(fromParent, fromName, toParent, toName))));
    }

    /// <summary>The mount <paramref name="path"/> (absolute, normalised) is on: whether it is writable, and then what it holds.</summary>
    internal (bool Writable, WritableSpace? Space) MountOf(string path) => Find(path).Mount is var m ? (m.Mount.Writable, m.Space) : default;

    /// <summary>What the read-only mount <paramref name="path"/> is on holds (<see cref="ReadOnlyUsage"/>).</summary>
    internal ReadOnlyUsage UsageOf(string path)
    {
        var mount = Find(path).Mount;
        return ReadOnlyUsage.Of(mount.Mount.HostDirectory, mount.Handle);
    }

    /// <summary>The quota of the writable mount at <paramref name="guestPath"/> (its host directory, what it holds).</summary>
    internal WritableSpace? Space(string guestPath) =>
        _mounts.FirstOrDefault(m => m.Mount.GuestPath == guestPath)?.Space;

    /// <summary>Makes one entry if the mount's quota has room for it: ENOSPC if not, as a disk out of inodes.</summary>
    private int Creating(string path, Func<int> create)
    {
        var space = Find(path).Mount.Space;
        if (space?.ReserveEntry() is < 0 and var full)
            return full;
        var result = create();
        if (result == 0)
            space?.EntryCreated(surely: true);
        return result;
    }

    private int Freeing(string path, int result)
    {
        if (result == 0)
            Find(path).Mount.Space?.Changed();
        return result;
    }

    private delegate int ParentOperation(SafeFd parent, byte* name);

    /// <summary>Runs <paramref name="operation"/> on the parent directory of <paramref name="path"/> and its last
    /// name: the name itself is never followed, so a symlink there is the link, not its target.</summary>
    private int InParent(string path, ParentOperation operation)
    {
        if (GuestPath.Split(path) is not var (unresolvedParent, name) || name is "." or "..")
            return -Errno.EBUSY;
        if (Resolved(unresolvedParent, followLast: true) is not { } parent)
            return -Errno.ELOOP;
        var (mount, relative) = Find(GuestPath.Combine(parent, name));
        // Linux looks the parent up before it asks the mount for write access: under a missing parent the answer is
        // ENOENT (ENOTDIR under a file), not EROFS (CPython's test support unlinks such names and ignores ENOENT only).
        if (!mount.Mount.Writable)
            return Stat(parent, followSymlinks: true, out var parentStat) is < 0 and var missing ? missing
                : (parentStat.st_mode & Kernel.S_IFMT) != Kernel.S_IFDIR ? -Errno.ENOTDIR : -Errno.EROFS;
        if (relative == ".")
            return -Errno.EBUSY; // the mount point itself
        var (parentMount, parentRelative) = Find(parent);
        if (!ReferenceEquals(parentMount, mount))
            parentRelative = ".";
        using var fd = OpenAt(mount, parentRelative, Libc.O_PATH | Libc.O_DIRECTORY | Libc.O_CLOEXEC, 0, out var errno);
        if (fd is null)
            return -errno;
        fixed (byte* n = CString.Of(name))
            return (int)HostFile.Result(operation(fd, n));
    }

    /// <summary>Longest chain of symbolic links a lookup follows (Linux's MAXSYMLINKS).</summary>
    private const int MaxSymlinks = 40;

    /// <summary>
    /// <paramref name="path"/> with the symbolic links met below a mount other than the root's followed in the guest's
    /// namespace (its last name's only when <paramref name="followLast"/>). openat2 resolves a link inside the mount it
    /// is in, whose directory is its root: a link in /tmp to /tmp/d or to /usr/lib — an absolute target, or "../usr"
    /// — would be looked up below the mount's own directory and not be found. The root's own links stay with the
    /// host's lookup (targets in the root). Costs one openat2 when the path holds no link; never leaves the root either
    /// way, since each step is again a guest path resolved inside its mount. Null past <see cref="MaxSymlinks"/> links (ELOOP).
    /// </summary>
    private string? Resolved(string path, bool followLast)
    {
        var (mount, relative) = Find(path);
        if (mount.Mount.GuestPath == "/")
            return path;
        var flags = Libc.O_PATH | Libc.O_CLOEXEC | (followLast ? 0 : Libc.O_NOFOLLOW);
        using (var fd = OpenAt(mount, relative, flags, 0, out var errno, Libc.RESOLVE_NO_SYMLINKS))
        {
            if (fd is not null || errno != Errno.ELOOP)
                return path;
        }
        var pending = new Stack<string>(path.Split('/', StringSplitOptions.RemoveEmptyEntries).Reverse());
        var current = "/";
        var links = 0;
        var buffer = new byte[TmpTree.MaxPathBytes + 1];
        while (pending.TryPop(out var name))
        {
            var candidate = GuestPath.Combine(current, name);
            if ((pending.Count == 0 && !followLast) || name == ".." ||
                Stat(candidate, followSymlinks: false, out var st) < 0 || (st.st_mode & Kernel.S_IFMT) != Kernel.S_IFLNK)
            {
                current = candidate; // a missing name too: the call itself reports it (or creates it)
                continue;
            }
            if (++links > MaxSymlinks)
                return null;
            var length = ReadLink(candidate, buffer);
            if (length <= 0)
                return path; // the call itself meets the unreadable link
            var target = CString.Decode(buffer.AsSpan(0, (int)length));
            if (target.StartsWith('/'))
                current = "/";
            foreach (var part in target.Split('/', StringSplitOptions.RemoveEmptyEntries).Reverse())
                pending.Push(part);
        }
        return current;
    }

    private (MountPoint Mount, string Relative) Find(string path)
    {
        foreach (var mount in _mounts)
        {
            var prefix = mount.Mount.GuestPath;
            if (!GuestPath.IsUnder(path, prefix))
                continue;
            var relative = prefix == "/" ? path.TrimStart('/') : path[prefix.Length..].TrimStart('/');
            return (mount, relative.Length == 0 ? "." : relative);
        }
        throw new InvalidOperationException("the root mount matches every path");
    }

    /// <summary>openat2 below the mount's directory: the new descriptor, or null and the errno.</summary>
    private static SafeFd? OpenAt(MountPoint mount, string relative, int flags, uint mode, out int errno, ulong resolve = 0)
    {
        // openat2 refuses a mode without O_CREAT or O_TMPFILE; O_TMPFILE's bits include O_DIRECTORY's, so test it whole
        // (Python's os.open passes 0o777 with O_DIRECTORY).
        var creates = (flags & Libc.O_CREAT) != 0 || (flags & Libc.O_TMPFILE) == Libc.O_TMPFILE;
        var how = new Libc.open_how { flags = (ulong)(uint)flags, mode = creates ? mode : 0, resolve = Resolve | resolve };
        fixed (byte* p = CString.Of(relative))
        {
            var fd = Libc.openat2(mount.Handle, p, &how);
            errno = fd >= 0 ? 0 : Marshal.GetLastPInvokeError();
            return fd >= 0 ? new SafeFd(fd) : null;
        }
    }

    public void Dispose()
    {
        foreach (var mount in _mounts)
            mount.Dispose();
    }

    private sealed class MountPoint : IDisposable
    {
        private MountPoint(RootMount mount, SafeFd handle)
        {
            Mount = mount;
            Handle = handle;
            Space = mount.Writable ? new WritableSpace(handle, mount.Quota ?? TmpQuota.Default) : null;
        }

        public RootMount Mount { get; }

        /// <summary>The mount's host directory, opened O_PATH: every lookup below it starts here.</summary>
        public SafeFd Handle { get; }

        /// <summary>What a writable mount holds, against its quota; null for a read-only one.</summary>
        public WritableSpace? Space { get; }

        public static MountPoint Open(RootMount mount)
        {
            var fd = Libc.open(mount.HostDirectory, Libc.O_PATH | Libc.O_DIRECTORY | Libc.O_CLOEXEC, 0);
            if (fd < 0)
                throw new DirectoryNotFoundException(
                    $"cannot open '{mount.HostDirectory}' (for {mount.GuestPath} in the guest): {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");
            return new MountPoint(mount, new SafeFd(fd));
        }

        public void Dispose() => Handle.Dispose();
    }
}

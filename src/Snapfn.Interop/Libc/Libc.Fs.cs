using System.Runtime.InteropServices;

namespace Snapfn.Interop;

/// <summary>The *at family and openat2: what the Linux system-call layer resolves guest paths with.</summary>
public static partial class Libc
{
    public const long SYS_getdents64 = 217;
    public const long SYS_openat2 = 437;

    public const int AT_FDCWD = -100;
    public const int AT_SYMLINK_NOFOLLOW = 0x100;
    public const int AT_REMOVEDIR = 0x200;
    public const int AT_SYMLINK_FOLLOW = 0x400;
    public const int AT_EMPTY_PATH = 0x1000;

    public const int O_WRONLY = 1;
    public const int O_ACCMODE = 3;
    public const int O_EXCL = 0x80;
    public const int O_NOCTTY = 0x100;
    public const int O_APPEND = 0x400;
    public const int O_DIRECTORY = 0x10000;
    public const int O_NOFOLLOW = 0x20000;
    public const int O_PATH = 0x200000;
    public const int O_TMPFILE = 0x410000;

    public const ulong RESOLVE_NO_XDEV = 0x01;
    public const ulong RESOLVE_NO_MAGICLINKS = 0x02;
    public const ulong RESOLVE_NO_SYMLINKS = 0x04;
    public const ulong RESOLVE_BENEATH = 0x08;
    public const ulong RESOLVE_IN_ROOT = 0x10;

    [StructLayout(LayoutKind.Sequential)]
    public struct open_how
    {
        public ulong flags;
        public ulong mode;
        public ulong resolve;
    }

    /// <summary>openat2(2) through syscall(2): glibc 2.36 has no wrapper. Returns the fd or -1 with errno.</summary>
    public static unsafe int openat2(SafeHandle dirfd, byte* path, open_how* how) =>
        (int)syscall(SYS_openat2, dirfd, (long)path, (long)how, sizeof(open_how));

    [LibraryImport(LibraryName, SetLastError = true)]
    public static partial long syscall(long number, long arg0, long arg1, long arg2, long arg3);

    // syscall(2) with a descriptor first, so that the marshaller holds the handle as for any other call; the
    // variadic long slot takes the pointer-sized handle value the same way on x86-64.
    [LibraryImport(LibraryName, SetLastError = true)]
    private static partial long syscall(long number, SafeHandle arg0, long arg1, long arg2, long arg3);

    [LibraryImport(LibraryName, SetLastError = true)]
    public static unsafe partial int fstat(SafeHandle fd, stat_buf* buf);

    /// <summary>openat2(2) of a NUL-terminated UTF-8 <paramref name="path"/> below <paramref name="dirfd"/>.</summary>
    public static unsafe int openat2(SafeHandle dirfd, ReadOnlySpan<byte> path, in open_how how)
    {
        RequireNul(path);
        fixed (byte* p = path)
        fixed (open_how* h = &how)
            return openat2(dirfd, p, h);
    }

    [LibraryImport(LibraryName, SetLastError = true)]
    public static unsafe partial int fstatat(SafeHandle dirfd, byte* path, stat_buf* buf, int flags);

    /// <summary>fstatat(2) of a NUL-terminated UTF-8 <paramref name="path"/> into <paramref name="buf"/>.</summary>
    public static unsafe int fstatat(SafeHandle dirfd, ReadOnlySpan<byte> path, out stat_buf buf, int flags)
    {
        RequireNul(path);
        fixed (byte* p = path)
        fixed (stat_buf* b = &buf)
            return fstatat(dirfd, p, b, flags);
    }

    [LibraryImport(LibraryName, SetLastError = true)]
    public static partial int fchmod(SafeHandle fd, uint mode);

    /// <summary>fchmodat(2); with an absolute <paramref name="path"/> the descriptor is not used.</summary>
    [LibraryImport(LibraryName, SetLastError = true)]
    public static unsafe partial int fchmodat(SafeHandle dirfd, byte* path, uint mode, int flags);

    /// <summary>fchownat(2); with AT_EMPTY_PATH and "" the descriptor's own inode (an O_PATH one too).</summary>
    [LibraryImport(LibraryName, SetLastError = true)]
    public static unsafe partial int fchownat(SafeHandle dirfd, byte* path, uint owner, uint group, int flags);

    /// <summary>The largest file handle a file system makes (MAX_HANDLE_SZ).</summary>
    public const int MAX_HANDLE_SZ = 128;

    [LibraryImport(LibraryName, SetLastError = true)]
    private static unsafe partial int name_to_handle_at(SafeHandle dirfd, byte* path, byte* handle, int* mountId, int flags);

    /// <summary>
    /// name_to_handle_at(2): the file system's handle for the inode <paramref name="path"/> names below
    /// <paramref name="dirfd"/> (AT_EMPTY_PATH and "": the descriptor's own), as its bytes (handle_type, then
    /// f_handle), or null with errno. A handle names one inode for its whole life and is never given to another, unlike
    /// an inode number, which a file system reuses once the inode is freed.
    /// </summary>
    public static unsafe byte[]? name_to_handle_at(SafeHandle dirfd, ReadOnlySpan<byte> path, int flags)
    {
        RequireNul(path);
        // struct file_handle: handle_bytes (in: room, out: length), handle_type, f_handle[]
        var buffer = stackalloc byte[8 + MAX_HANDLE_SZ];
        *(uint*)buffer = MAX_HANDLE_SZ;
        int mountId;
        fixed (byte* p = path)
        {
            if (name_to_handle_at(dirfd, p, buffer, &mountId, flags) < 0)
                return null;
        }
        var length = Math.Min(*(uint*)buffer, MAX_HANDLE_SZ);
        return new ReadOnlySpan<byte>(buffer + 4, 4 + (int)length).ToArray();
    }

    /// <summary>utimensat(2): <paramref name="times"/> points at two timespecs (atime, mtime), or is null for now.</summary>
    [LibraryImport(LibraryName, SetLastError = true)]
    public static unsafe partial int utimensat(SafeHandle dirfd, byte* path, void* times, int flags);

    /// <summary>futimens(3): glibc's utimensat refuses a null path, so the descriptor's own times go through this.</summary>
    [LibraryImport(LibraryName, SetLastError = true)]
    public static unsafe partial int futimens(SafeHandle fd, void* times);

    [LibraryImport(LibraryName, SetLastError = true)]
    public static unsafe partial long readlinkat(SafeHandle dirfd, byte* path, byte* buffer, nuint size);

    /// <summary>readlinkat(2) into <paramref name="buffer"/>; <paramref name="path"/> is NUL-terminated UTF-8
    /// (an empty one, "\0", reads the link that an O_PATH <paramref name="dirfd"/> itself names).</summary>
    public static unsafe long readlinkat(SafeHandle dirfd, ReadOnlySpan<byte> path, Span<byte> buffer)
    {
        RequireNul(path);
        fixed (byte* p = path)
        fixed (byte* b = buffer)
            return readlinkat(dirfd, p, b, (nuint)buffer.Length);
    }

    [LibraryImport(LibraryName, SetLastError = true)]
    public static unsafe partial int mkdirat(SafeHandle dirfd, byte* path, uint mode);

    /// <inheritdoc cref="mkdirat(SafeHandle, byte*, uint)"/>
    public static unsafe int mkdirat(SafeHandle dirfd, ReadOnlySpan<byte> path, uint mode)
    {
        RequireNul(path);
        fixed (byte* p = path)
            return mkdirat(dirfd, p, mode);
    }

    [LibraryImport(LibraryName, SetLastError = true)]
    public static unsafe partial int unlinkat(SafeHandle dirfd, byte* path, int flags);

    /// <inheritdoc cref="unlinkat(SafeHandle, byte*, int)"/>
    public static unsafe int unlinkat(SafeHandle dirfd, ReadOnlySpan<byte> path, int flags)
    {
        RequireNul(path);
        fixed (byte* p = path)
            return unlinkat(dirfd, p, flags);
    }

    [LibraryImport(LibraryName, SetLastError = true)]
    public static unsafe partial int renameat(SafeHandle olddirfd, byte* oldpath, SafeHandle newdirfd, byte* newpath);

    [LibraryImport(LibraryName, SetLastError = true)]
    public static unsafe partial int symlinkat(byte* target, SafeHandle newdirfd, byte* linkpath);

    /// <inheritdoc cref="symlinkat(byte*, SafeHandle, byte*)"/>
    public static unsafe int symlinkat(ReadOnlySpan<byte> target, SafeHandle newdirfd, ReadOnlySpan<byte> linkpath)
    {
        RequireNul(target);
        RequireNul(linkpath);
        fixed (byte* t = target)
        fixed (byte* l = linkpath)
            return symlinkat(t, newdirfd, l);
    }

    /// <summary>mknodat(2): a regular file or a FIFO (devices need CAP_MKNOD).</summary>
    [LibraryImport(LibraryName, SetLastError = true)]
    public static unsafe partial int mknodat(SafeHandle dirfd, byte* path, uint mode, ulong dev);

    /// <summary>linkat(2); with AT_EMPTY_PATH and "" the descriptor's own inode gets the new name.</summary>
    [LibraryImport(LibraryName, SetLastError = true)]
    public static unsafe partial int linkat(SafeHandle olddirfd, byte* oldpath, SafeHandle newdirfd, byte* newpath, int flags);

    /// <summary>The daemon's effective user and group ids (owners of what it creates).</summary>
    [LibraryImport(LibraryName)]
    public static partial uint geteuid();

    /// <inheritdoc cref="geteuid"/>
    [LibraryImport(LibraryName)]
    public static partial uint getegid();

    [LibraryImport(LibraryName, SetLastError = true)]
    public static partial int ftruncate(SafeHandle fd, long length);

    [LibraryImport(LibraryName, SetLastError = true)]
    public static unsafe partial long pwrite(SafeHandle fd, byte* buffer, nuint count, long offset);

    /// <summary>pwrite(2) of <paramref name="buffer"/> at <paramref name="offset"/>.</summary>
    public static unsafe long pwrite(SafeHandle fd, ReadOnlySpan<byte> buffer, long offset)
    {
        fixed (byte* p = buffer)
            return pwrite(fd, p, (nuint)buffer.Length, offset);
    }

    [LibraryImport(LibraryName, SetLastError = true)]
    public static partial int dup(SafeHandle fd);

    /// <summary>getdents64(2): fills <paramref name="buffer"/> with linux_dirent64 records.</summary>
    public static unsafe long getdents64(SafeHandle fd, byte* buffer, nuint count) =>
        syscall(SYS_getdents64, fd, (long)buffer, (long)count, 0);

    /// <inheritdoc cref="getdents64(SafeHandle, byte*, nuint)"/>
    public static unsafe long getdents64(SafeHandle fd, Span<byte> buffer)
    {
        fixed (byte* p = buffer)
            return getdents64(fd, p, (nuint)buffer.Length);
    }

    private static void RequireNul(ReadOnlySpan<byte> path)
    {
        if (path.IndexOf((byte)0) < 0)
            throw new ArgumentException("the path must be NUL-terminated", nameof(path));
    }
}

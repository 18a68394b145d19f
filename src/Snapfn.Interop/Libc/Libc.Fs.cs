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
    public static unsafe int openat2(int dirfd, byte* path, open_how* how) =>
        (int)syscall(SYS_openat2, dirfd, (long)path, (long)how, sizeof(open_how));

    [LibraryImport(LibraryName, SetLastError = true)]
    public static partial long syscall(long number, long arg0, long arg1, long arg2, long arg3);

    [LibraryImport(LibraryName, SetLastError = true)]
    public static unsafe partial int fstat(int fd, stat_buf* buf);

    [LibraryImport(LibraryName, SetLastError = true)]
    public static unsafe partial long readlinkat(int dirfd, byte* path, byte* buffer, nuint size);

    [LibraryImport(LibraryName, SetLastError = true)]
    public static unsafe partial int mkdirat(int dirfd, byte* path, uint mode);

    [LibraryImport(LibraryName, SetLastError = true)]
    public static unsafe partial int unlinkat(int dirfd, byte* path, int flags);

    [LibraryImport(LibraryName, SetLastError = true)]
    public static unsafe partial int renameat(int olddirfd, byte* oldpath, int newdirfd, byte* newpath);

    [LibraryImport(LibraryName, SetLastError = true)]
    public static unsafe partial int symlinkat(byte* target, int newdirfd, byte* linkpath);

    [LibraryImport(LibraryName, SetLastError = true)]
    public static partial int ftruncate(int fd, long length);

    [LibraryImport(LibraryName, SetLastError = true)]
    public static unsafe partial long pwrite(int fd, byte* buffer, nuint count, long offset);

    [LibraryImport(LibraryName, SetLastError = true)]
    public static partial int dup(int fd);

    /// <summary>getdents64(2): fills <paramref name="buffer"/> with linux_dirent64 records.</summary>
    public static unsafe long getdents64(int fd, byte* buffer, nuint count) =>
        syscall(SYS_getdents64, fd, (long)buffer, (long)count, 0);
}

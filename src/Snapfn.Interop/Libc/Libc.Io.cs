using System.Runtime.InteropServices;

namespace Snapfn.Interop;

public static partial class Libc
{
    [LibraryImport(LibraryName, SetLastError = true)]
    public static unsafe partial long pread(int fd, byte* buffer, nuint count, long offset);

    [LibraryImport(LibraryName, SetLastError = true)]
    public static partial int posix_fadvise(int fd, long offset, long length, int advice);

    [LibraryImport(LibraryName, SetLastError = true)]
    public static partial long readahead(int fd, long offset, nuint count);

    [LibraryImport(LibraryName, SetLastError = true)]
    public static partial int eventfd(uint initval, int flags);

    [LibraryImport(LibraryName, SetLastError = true)]
    public static unsafe partial int poll(pollfd* fds, nuint nfds, int timeout);

    public const int POSIX_FADV_NORMAL = 0;
    public const int POSIX_FADV_RANDOM = 1;
    public const int POSIX_FADV_SEQUENTIAL = 2;
    public const int POSIX_FADV_WILLNEED = 3;
    public const int POSIX_FADV_DONTNEED = 4;

    public const int EFD_CLOEXEC = 0x80000;
    public const int EFD_NONBLOCK = 0x800;

    public const short POLLIN = 0x1;
    public const short POLLERR = 0x8;
    public const short POLLHUP = 0x10;

    [StructLayout(LayoutKind.Sequential)]
    public struct pollfd
    {
        public int fd;
        public short events;
        public short revents;
    }
}

public static partial class Libc
{
    [LibraryImport(LibraryName, SetLastError = true)]
    public static partial int fsync(int fd);

    [LibraryImport(LibraryName, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static unsafe partial int stat(string path, stat_buf* buf);

    /// <summary>struct stat on x86-64 (144 bytes); only the fields Snapfn reads are named.</summary>
    [StructLayout(LayoutKind.Explicit, Size = 144)]
    public struct stat_buf
    {
        [FieldOffset(24)] public uint st_mode;
        [FieldOffset(48)] public long st_size;
        [FieldOffset(64)] public long st_blocks;
    }

    public const uint S_IFMT = 0xf000;
    public const uint S_IFDIR = 0x4000;
    public const uint S_IFREG = 0x8000;
    public const uint S_IFLNK = 0xa000;
}

public static partial class Libc
{
    [LibraryImport(LibraryName, SetLastError = true)]
    public static unsafe partial long read(int fd, void* buffer, nuint count);

    [LibraryImport(LibraryName, SetLastError = true)]
    public static unsafe partial long write(int fd, void* buffer, nuint count);

    [LibraryImport(LibraryName, SetLastError = true)]
    public static partial long lseek(int fd, long offset, int whence);

    public const int SEEK_DATA = 3;
    public const int SEEK_HOLE = 4;
    public const int ENXIO = 6;
}

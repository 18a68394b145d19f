using System.Runtime.InteropServices;

namespace Snapfn.Interop;

public static partial class Libc
{
    [LibraryImport(LibraryName, SetLastError = true)]
    public static unsafe partial long pread(SafeHandle fd, byte* buffer, nuint count, long offset);

    /// <summary>pread(2) into <paramref name="buffer"/> from <paramref name="offset"/>.</summary>
    public static unsafe long pread(SafeHandle fd, Span<byte> buffer, long offset)
    {
        fixed (byte* p = buffer)
            return pread(fd, p, (nuint)buffer.Length, offset);
    }

    [LibraryImport(LibraryName, SetLastError = true)]
    public static partial int posix_fadvise(SafeHandle fd, long offset, long length, int advice);

    [LibraryImport(LibraryName, SetLastError = true)]
    public static partial long readahead(SafeHandle fd, long offset, nuint count);

    [LibraryImport(LibraryName, SetLastError = true)]
    public static partial int eventfd(uint initval, int flags);

    [LibraryImport(LibraryName, SetLastError = true)]
    public static unsafe partial int poll(pollfd* fds, nuint nfds, int timeout);

    /// <summary>fallocate(2): with FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, frees a range of a file (it reads
    /// as zeros) without changing its length.</summary>
    [LibraryImport(LibraryName, SetLastError = true)]
    public static partial int fallocate(SafeHandle fd, int mode, long offset, long length);

    public const int FALLOC_FL_KEEP_SIZE = 0x01;
    public const int FALLOC_FL_PUNCH_HOLE = 0x02;

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
        // A raw number, not a handle: whoever fills it holds a reference (DangerousAddRef) on the SafeHandle
        // for as long as poll may use it.
        public int fd;
        public short events;
        public short revents;
    }
}

public static partial class Libc
{
    [LibraryImport(LibraryName, SetLastError = true)]
    public static partial int fsync(SafeHandle fd);

    [LibraryImport(LibraryName, SetLastError = true)]
    public static partial int fdatasync(SafeHandle fd);

    [LibraryImport(LibraryName, SetLastError = true)]
    public static partial int syncfs(SafeHandle fd);

    [LibraryImport(LibraryName, SetLastError = true)]
    public static partial int sync_file_range(SafeHandle fd, long offset, long nbytes, uint flags);

    [LibraryImport(LibraryName, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static unsafe partial int stat(string path, stat_buf* buf);

    /// <summary>struct stat on x86-64 (144 bytes); only the fields Snapfn reads are named.</summary>
    [StructLayout(LayoutKind.Explicit, Size = 144)]
    public struct stat_buf
    {
        [FieldOffset(0)] public ulong st_dev;
        [FieldOffset(8)] public ulong st_ino;
        [FieldOffset(16)] public ulong st_nlink;
        [FieldOffset(24)] public uint st_mode;
        [FieldOffset(48)] public long st_size;
        [FieldOffset(64)] public long st_blocks;
        [FieldOffset(88)] public long st_mtime_sec;
        [FieldOffset(96)] public long st_mtime_nsec;
    }

    public const uint S_IFMT = 0xf000;
    public const uint S_IFDIR = 0x4000;
    public const uint S_IFREG = 0x8000;
    public const uint S_IFLNK = 0xa000;
    public const uint S_IFIFO = 0x1000;
    public const uint S_IFCHR = 0x2000;
    public const uint S_IFBLK = 0x6000;
    public const uint S_IFSOCK = 0xc000;
}

public static partial class Libc
{
    [LibraryImport(LibraryName, SetLastError = true)]
    public static unsafe partial long read(SafeHandle fd, void* buffer, nuint count);

    /// <summary>read(2) into <paramref name="buffer"/>.</summary>
    public static unsafe long read(SafeHandle fd, Span<byte> buffer)
    {
        fixed (byte* p = buffer)
            return read(fd, p, (nuint)buffer.Length);
    }

    [LibraryImport(LibraryName, SetLastError = true)]
    public static unsafe partial long write(SafeHandle fd, void* buffer, nuint count);

    /// <summary>write(2) of <paramref name="buffer"/>.</summary>
    public static unsafe long write(SafeHandle fd, ReadOnlySpan<byte> buffer)
    {
        fixed (byte* p = buffer)
            return write(fd, p, (nuint)buffer.Length);
    }

    [LibraryImport(LibraryName, SetLastError = true)]
    public static partial long lseek(SafeHandle fd, long offset, int whence);

    public const int SEEK_DATA = 3;
    public const int SEEK_HOLE = 4;
    public const int ENXIO = 6;
}

using System.Runtime.InteropServices;

namespace Snapfn.Interop;

/// <summary>
/// The glibc calls Snapfn needs, with their native names and signatures (one area a file). A descriptor is
/// passed as its SafeHandle, as dotnet/runtime does: the marshaller holds a reference across the call, so a
/// Dispose on another thread cannot close the number (and let the kernel hand it out again) mid-call.
/// </summary>
public static partial class Libc
{
    private const string LibraryName = "libc";

    [LibraryImport(LibraryName, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int open(string path, int flags, int mode);

    // The one call that takes the raw number: SafeFd.ReleaseHandle closes what it owns, and nothing else may.
    [LibraryImport(LibraryName, SetLastError = true)]
    public static partial int close(int fd);

    // ioctl is variadic in C; on x86-64 a pointer-sized third argument is passed the same way either way.
    [LibraryImport(LibraryName, SetLastError = true)]
    public static partial int ioctl(SafeHandle fd, nuint request, nint arg);

    [LibraryImport(LibraryName, SetLastError = true)]
    public static partial long syscall(long number, long arg0);

    public const int O_RDONLY = 0;
    public const int O_RDWR = 2;
    public const int O_CREAT = 0x40;
    public const int O_TRUNC = 0x200;
    public const int O_CLOEXEC = 0x80000;
    public const int O_NONBLOCK = 0x800;
    public const int O_DIRECT = 0x4000;

    public const int EINTR = 4;
    public const int EAGAIN = 11;
    public const int EEXIST = 17;
    public const int ENOENT = 2;
    public const int EACCES = 13;
    public const int EFAULT = 14;
    public const int EBADF = 9;
    public const int E2BIG = 7;
}

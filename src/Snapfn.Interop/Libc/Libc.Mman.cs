using System.Runtime.InteropServices;

namespace Snapfn.Interop;

public static partial class Libc
{
    [LibraryImport(LibraryName, SetLastError = true)]
    public static partial nint mmap(nint addr, nuint length, int prot, int flags, SafeHandle fd, long offset);

    /// <summary>mmap(2) with MAP_ANONYMOUS: there is no file to hold, and mmap wants fd -1 and offset 0.</summary>
    public static nint mmap_anonymous(nint addr, nuint length, int prot, int flags) =>
        mmap_nofile(addr, length, prot, flags | MAP_ANONYMOUS, -1, 0);

    [LibraryImport(LibraryName, EntryPoint = "mmap", SetLastError = true)]
    private static partial nint mmap_nofile(nint addr, nuint length, int prot, int flags, int fd, long offset);

    [LibraryImport(LibraryName, SetLastError = true)]
    public static partial int munmap(nint addr, nuint length);

    [LibraryImport(LibraryName, SetLastError = true)]
    public static partial int mprotect(nint addr, nuint length, int prot);

    [LibraryImport(LibraryName, SetLastError = true)]
    public static partial int madvise(nint addr, nuint length, int advice);

    [LibraryImport(LibraryName, SetLastError = true)]
    public static unsafe partial int mincore(nint addr, nuint length, byte* vec);

    public static readonly nint MAP_FAILED = -1;

    public const int PROT_NONE = 0;
    public const int PROT_READ = 1;
    public const int PROT_WRITE = 2;
    public const int PROT_EXEC = 4;

    public const int MAP_SHARED = 0x01;
    public const int MAP_PRIVATE = 0x02;
    public const int MAP_FIXED = 0x10;
    public const int MAP_ANONYMOUS = 0x20;
    public const int MAP_NORESERVE = 0x4000;
    public const int MAP_POPULATE = 0x8000;

    public const int MADV_NORMAL = 0;
    public const int MADV_RANDOM = 1;
    public const int MADV_SEQUENTIAL = 2;
    public const int MADV_WILLNEED = 3;
    public const int MADV_DONTNEED = 4;
    public const int MADV_HUGEPAGE = 14;
    public const int MADV_NOHUGEPAGE = 15;
    public const int MADV_POPULATE_READ = 22;
    public const int MADV_POPULATE_WRITE = 23;
}

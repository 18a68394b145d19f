using System.Runtime.InteropServices;
using Snapfn.Interop;
using Snapfn.Vmm;

namespace Snapfn.Snapshots;

/// <summary>
/// The kernel's page cache for one file: how much of it is cached (mincore over a read-only mapping), dropping
/// it (POSIX_FADV_DONTNEED, which only drops clean pages no process has mapped), and reading it in.
/// </summary>
public static unsafe class PageCache
{
    public const int PageSize = 4096;

    /// <summary>How many of the file's data pages (holes left out: a sparse 2 GiB memory file is mostly holes,
    /// and scanning them cost ~30 ms) are in the page cache, and how many data pages it has. A missing file
    /// counts as empty: saying it is missing is the restore's job.</summary>
    public static (long Cached, long Total) Count(string path) =>
        File.Exists(path) ? Resident(path, _ => Recording.SparseMap.DataRanges(path)) : (0, 0);

    /// <summary>How many pages of the file's <paramref name="ranges"/> (given its length) are in the page cache,
    /// of how many: mincore on a shared read-only view, which faults nothing in.</summary>
    private static (long Cached, long Total) Resident(string path, Func<long, IEnumerable<Recording.GuestRange>> ranges)
    {
        using var file = File.OpenHandle(path, FileMode.Open, FileAccess.Read);
        var length = RandomAccess.GetLength(file);
        if (length == 0)
            return (0, 0);
        using var mapping = MemoryMapping.OfFile(file, (ulong)length, Libc.PROT_READ, Libc.MAP_SHARED, path);
        long cached = 0, total = 0;
        foreach (var range in ranges(length))
        {
            var pages = (long)((range.Length + PageSize - 1) / PageSize);
            var vector = new byte[pages];
            fixed (byte* v = vector)
                SyscallException.Check(Libc.mincore(mapping.Address + (nint)range.Offset, (nuint)range.Length, v), $"mincore({path})");
            foreach (var b in vector)
                cached += b & 1;
            total += pages;
        }
        return (cached, total);
    }

    /// <summary>Asks the kernel to drop the file's cached pages: the next access reads the disk. A missing file
    /// has nothing cached (the restore that needs it says it is missing and what to run).</summary>
    public static void Drop(string path)
    {
        if (!File.Exists(path))
            return;
        using var file = File.OpenHandle(path, FileMode.Open, FileAccess.Read);
        var errno = Libc.posix_fadvise(file, 0, 0, Libc.POSIX_FADV_DONTNEED);
        if (errno != 0)
            SyscallException.Throw($"posix_fadvise({path}, DONTNEED)", errno);
    }

    /// <summary>
    /// Reads the whole file once so that every page of it sits in the page cache, its holes too (reading a hole
    /// caches a page of zeros, which the guest's first touch of that zero page then finds, as in a full memory
    /// file: the paper's cached). A file already wholly cached is not read again: that costs ~1 s for a sparse
    /// 2 GiB file, and every restore of a burst prepares.
    /// </summary>
    public static void Load(string path)
    {
        if (IsWhollyCached(path))
            return;
        using var file = File.OpenHandle(path, FileMode.Open, FileAccess.Read);
        var buffer = GC.AllocateUninitializedArray<byte>(1 << 20);
        long offset = 0;
        int read;
        while ((read = RandomAccess.Read(file, buffer, offset)) > 0)
            offset += read;
    }

    /// <summary>Whether every page of the file, holes included, is in the page cache (mincore over all of it).</summary>
    public static bool IsWhollyCached(string path)
    {
        var (cached, total) = Resident(path, length => [new Recording.GuestRange(0, (ulong)length)]);
        return cached == total;
    }

    /// <summary>Apparent and allocated size of a (sparse) file.</summary>
    public static (long Apparent, long Allocated) Sizes(string path)
    {
        Libc.stat_buf buf;
        SyscallException.Check(Libc.stat(path, &buf), $"stat({path})");
        return (buf.st_size, buf.st_blocks * 512);
    }
}

using Snapfn.Interop;
using Snapfn.Snapshots.Recording;

namespace Snapfn.Snapshots;

/// <summary>
/// How a memory file stores the guest's zero pages: as holes (Snapfn's snapshots: a 2 GiB guest with 60 MB of
/// data is a 60 MB file) or written out (Firecracker's full snapshots write every page). The content is the same
/// either way, so recordings stay valid; what changes is what a cold restore reads from the disk.
/// </summary>
public static class MemoryFileLayout
{
    /// <summary>True when every block of the file is allocated (no holes).</summary>
    public static bool IsFull(string path)
    {
        var (apparent, allocated) = PageCache.Sizes(path);
        return allocated >= apparent;
    }

    /// <summary>Writes zeros into every hole, so that the file is allocated throughout, then flushes it.</summary>
    public static void MakeFull(string path)
    {
        using var file = File.OpenHandle(path, FileMode.Open, FileAccess.ReadWrite);
        var length = (ulong)RandomAccess.GetLength(file);
        var zeros = new byte[1 << 20];
        ulong at = 0;
        foreach (var data in SparseMap.DataRanges(path).Append(new GuestRange(length, 0)))
        {
            while (at < data.Offset)
            {
                var part = (int)Math.Min((ulong)zeros.Length, data.Offset - at);
                RandomAccess.Write(file, zeros.AsSpan(0, part), (long)at);
                at += (ulong)part;
            }
            at = Math.Max(at, data.End);
        }
        DurableFile.Flush(file, path);
    }

    /// <summary>Frees every zero page of the file (FALLOC_FL_PUNCH_HOLE), so that only data is allocated.</summary>
    public static void MakeSparse(string path)
    {
        var nonZero = SparseMap.NonZeroRanges(path);
        using var file = File.OpenHandle(path, FileMode.Open, FileAccess.ReadWrite);
        var length = (ulong)RandomAccess.GetLength(file);
        ulong at = 0;
        foreach (var data in nonZero.Append(new GuestRange(length, 0)))
        {
            if (data.Offset > at)
                SyscallException.Check(Libc.fallocate(file, Libc.FALLOC_FL_PUNCH_HOLE | Libc.FALLOC_FL_KEEP_SIZE, (long)at, (long)(data.Offset - at)),
                    $"fallocate({path}, PUNCH_HOLE)");
            at = Math.Max(at, data.End);
        }
        DurableFile.Flush(file, path);
    }

    /// <summary>Gives the file the layout asked for (nothing to do when it has it already).</summary>
    public static void Ensure(string path, bool full)
    {
        if (IsFull(path) == full)
            return;
        if (full)
            MakeFull(path);
        else
            MakeSparse(path);
    }
}

using System.Runtime.InteropServices;
using Snapfn.Interop;
using Snapfn.Snapshots.Backends;
using Snapfn.Vmm;

namespace Snapfn.Snapshots.Recording;

/// <summary>The non-zero ranges of a sparse memory file (its data extents: the snapshot writer left zero pages as holes).</summary>
public static class SparseMap
{
    public static IReadOnlyList<GuestRange> DataRanges(string path)
    {
        using var fd = SnapshotMapping.OpenReadOnly(path);
        var length = Libc.lseek(fd, 0, 2 /* SEEK_END */);
        var ranges = new List<GuestRange>();
        long offset = 0;
        while (offset < length)
        {
            var data = Libc.lseek(fd, offset, Libc.SEEK_DATA);
            if (data < 0)
            {
                if (Marshal.GetLastPInvokeError() == Libc.ENXIO)
                    break;
                SyscallException.Throw($"lseek({path}, SEEK_DATA)", Marshal.GetLastPInvokeError());
            }
            var hole = SyscallException.Check(Libc.lseek(fd, data, Libc.SEEK_HOLE), $"lseek({path}, SEEK_HOLE)");
            var start = data & ~(long)(GuestLayout.PageSize - 1);
            var end = (long)GuestLayout.AlignUp((ulong)hole, GuestLayout.PageSize);
            ranges.Add(new GuestRange((ulong)start, (ulong)(end - start)));
            offset = hole;
        }
        return ranges;
    }

    /// <summary>
    /// The pages of the file that hold something other than zeros, as ranges: its data ranges, read through in
    /// 4 KiB blocks as FaaSnap's daemon does. For a sparse memory file (holes where the guest had zero pages)
    /// this is its data ranges; for a full one (zeros written out, as Firecracker writes them) it finds the same
    /// pages by reading.
    /// </summary>
    public static IReadOnlyList<GuestRange> NonZeroRanges(string path)
    {
        const int chunk = 1 << 20;
        var ranges = new List<GuestRange>();
        using var file = File.OpenHandle(path, FileMode.Open, FileAccess.Read);
        var buffer = new byte[chunk];
        ulong runStart = 0, runLength = 0;
        foreach (var data in DataRanges(path))
        {
            for (var offset = data.Offset; offset < data.End;)
            {
                var read = RandomAccess.Read(file, buffer.AsSpan(0, (int)Math.Min((ulong)chunk, data.End - offset)), (long)offset);
                if (read <= 0)
                    break;
                for (var page = 0; page + (int)GuestLayout.PageSize <= read; page += (int)GuestLayout.PageSize)
                {
                    var at = offset + (ulong)page;
                    if (buffer.AsSpan(page, (int)GuestLayout.PageSize).IndexOfAnyExcept((byte)0) < 0)
                        continue;
                    if (runLength > 0 && runStart + runLength == at)
                    {
                        runLength += GuestLayout.PageSize;
                    }
                    else
                    {
                        if (runLength > 0)
                            ranges.Add(new GuestRange(runStart, runLength));
                        (runStart, runLength) = (at, GuestLayout.PageSize);
                    }
                }
                offset += (ulong)read;
            }
        }
        if (runLength > 0)
            ranges.Add(new GuestRange(runStart, runLength));
        return ranges;
    }

    /// <summary>Merges ranges whose gap is under <paramref name="gapPages"/> pages, to map fewer, larger regions.</summary>
    public static IReadOnlyList<GuestRange> Merge(IReadOnlyList<GuestRange> ranges, ulong gapPages)
    {
        ArgumentNullException.ThrowIfNull(ranges);
        var merged = new List<GuestRange>();
        foreach (var range in ranges.OrderBy(r => r.Offset))
        {
            if (merged.Count > 0 && (range.Offset <= merged[^1].End || range.Offset - merged[^1].End < gapPages * GuestLayout.PageSize))
                merged[^1] = new GuestRange(merged[^1].Offset, Math.Max(merged[^1].End, range.End) - merged[^1].Offset);
            else
                merged.Add(range);
        }
        return merged;
    }
}

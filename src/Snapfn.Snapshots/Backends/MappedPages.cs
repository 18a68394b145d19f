using Snapfn.Snapshots.Recording;
using Snapfn.Vmm;

namespace Snapfn.Snapshots.Backends;

/// <summary>
/// Which guest pages this process's page tables map, from /proc/self/pagemap (bit 63: present, bit 62: swapped;
/// both readable without privilege, unlike the frame numbers). A page of a guest's file mapping is mapped once the
/// guest touched it (KVM faults it in through the host page tables) — or once the kernel's fault-around mapped it
/// beside a touched page (up to 16 pages of the same file already in the page cache), so counts are an upper bound
/// on the pages the guest itself touched.
/// </summary>
public static class MappedPages
{
    private const int EntriesPerRead = 4096;

    /// <summary>Pages of <paramref name="ranges"/> (guest offsets from <paramref name="guestBase"/>) mapped now.</summary>
    public static long Count(nint guestBase, IEnumerable<GuestRange> ranges)
    {
        ArgumentNullException.ThrowIfNull(ranges);
        using var pagemap = File.OpenHandle("/proc/self/pagemap", FileMode.Open, FileAccess.Read);
        var buffer = new byte[EntriesPerRead * sizeof(ulong)];
        long mapped = 0;
        foreach (var range in ranges)
        {
            var first = ((ulong)guestBase + range.Offset) / GuestLayout.PageSize;
            var pages = range.Length / GuestLayout.PageSize;
            for (ulong done = 0; done < pages;)
            {
                var count = (int)Math.Min((ulong)EntriesPerRead, pages - done);
                var span = buffer.AsSpan(0, count * sizeof(ulong));
                var read = RandomAccess.Read(pagemap, span, (long)((first + done) * sizeof(ulong)));
                if (read != span.Length)
                    throw new IOException($"/proc/self/pagemap gave {read} of {span.Length} bytes at page 0x{first + done:x}");
                for (var i = 0; i < count; i++)
                {
                    var entry = BitConverter.ToUInt64(span.Slice(i * sizeof(ulong), sizeof(ulong)));
                    if ((entry & (3UL << 62)) != 0)
                        mapped++;
                }
                done += (ulong)count;
            }
        }
        return mapped;
    }

    /// <summary><paramref name="ranges"/> without the parts <paramref name="regions"/> cover (both page-aligned guest
    /// offsets; regions may come in any order and overlap nothing of each other).</summary>
    public static IReadOnlyList<GuestRange> Outside(IEnumerable<GuestRange> ranges, IEnumerable<RecordedRegion> regions)
    {
        ArgumentNullException.ThrowIfNull(ranges);
        ArgumentNullException.ThrowIfNull(regions);
        var covered = regions.Select(r => new GuestRange(r.GuestOffset, r.Length)).OrderBy(r => r.Offset).ToList();
        var result = new List<GuestRange>();
        foreach (var range in ranges)
        {
            var at = range.Offset;
            foreach (var region in covered)
            {
                if (region.End <= at || region.Offset >= range.End)
                    continue;
                if (region.Offset > at)
                    result.Add(new GuestRange(at, region.Offset - at));
                at = Math.Max(at, region.End);
                if (at >= range.End)
                    break;
            }
            if (at < range.End)
                result.Add(new GuestRange(at, range.End - at));
        }
        return result;
    }
}

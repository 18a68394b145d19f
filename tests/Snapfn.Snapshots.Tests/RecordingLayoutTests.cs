using Snapfn.Snapshots.Recording;

namespace Snapfn.Snapshots.Tests;

/// <summary>
/// FaaSnap's loading-set layout (no KVM): a region that holds a whole 2 MiB-aligned block of guest memory starts
/// at a file offset congruent to its guest offset modulo 2 MiB, so that the mapping can use huge pages; every
/// other region follows the previous one back to back.
/// </summary>
public sealed class RecordingLayoutTests
{
    private const ulong K = 1UL << 10;
    private const ulong M = 1UL << 20;
    private const ulong Large = 2 * M;

    // Three index entries and no ranges: the data starts at 4 KiB (header) + 96 bytes, aligned up to 8 KiB.
    private static readonly (ulong GuestOffset, ulong Length, uint Order)[] _regions =
    [
        (4 * K, 12 * K, 0),                 // no whole block: packed at the start
        (4 * M + 4 * K, 4 * M, 1),          // holds [6, 8) MiB: padded to 2 MiB + 4 KiB
        (2 * M, 2 * M, 2),                  // exactly one block: padded to the next 2 MiB boundary
        (20 * K, 4 * K, 3),                 // small: straight after the previous region
        (16 * M + 4 * K, 4 * M, 4),         // holds a block and is congruent already: no padding
        (30 * M + 4 * K, 2 * M - 4 * K, 5), // 2 MiB long but holds no aligned block: packed
    ];

    [Fact]
    public void Regions_holding_a_large_page_are_congruent_and_the_rest_are_packed()
    {
        var laid = RecordingFile.LayOut(_regions, indexEntries: 3, rangeEntries: 0, alignLargePages: true);
        Assert.Equal(
        [
            8 * K,
            2 * M + 4 * K,
            8 * M,
            10 * M,
            10 * M + 4 * K,
            14 * M + 4 * K,
        ], laid.Select(r => r.FileOffset));
        Assert.Equal(_regions.Select(r => (r.GuestOffset, r.Length, r.Order)), laid.Select(r => (r.GuestOffset, r.Length, r.Order)));
    }

    [Fact]
    public void Without_large_page_alignment_every_region_is_packed()
    {
        var laid = RecordingFile.LayOut(_regions, indexEntries: 3, rangeEntries: 0, alignLargePages: false);
        var expected = new List<ulong>();
        var offset = 8 * K;
        foreach (var region in _regions)
        {
            expected.Add(offset);
            offset += region.Length;
        }
        Assert.Equal(expected, laid.Select(r => r.FileOffset));
    }

    [Fact]
    public void The_data_starts_after_the_header_and_the_index_on_a_page_boundary()
    {
        (ulong, ulong, uint)[] one = [(0, 4 * K, 0)];
        Assert.Equal(4 * K, RecordingFile.LayOut(one, 0, 0, true).Single().FileOffset);
        Assert.Equal(8 * K, RecordingFile.LayOut(one, 1, 0, true).Single().FileOffset);
        // 128 entries of 32 bytes fill exactly one page; 256 ranges of 16 bytes fill another.
        Assert.Equal(8 * K, RecordingFile.LayOut(one, 128, 0, true).Single().FileOffset);
        Assert.Equal(12 * K, RecordingFile.LayOut(one, 128, 256, true).Single().FileOffset);
        Assert.Equal(16 * K, RecordingFile.LayOut(one, 128, 257, true).Single().FileOffset);
    }

    /// <summary>The invariants on many generated layouts: congruence where a block is held, no overlap, and no
    /// padding where none is needed (a hole is at most one large page short of congruence).</summary>
    [Fact]
    public void Generated_layouts_keep_congruence_without_overlap_or_needless_holes()
    {
        var random = new Random(13);
        for (var trial = 0; trial < 200; trial++)
        {
            var regions = new List<(ulong, ulong, uint)>();
            var guest = 0UL;
            for (var i = 0; i < 20; i++)
            {
                guest += (ulong)random.Next(0, 1024) * 4 * K;
                var length = (ulong)random.Next(1, 2048) * 4 * K;
                regions.Add((guest, length, (uint)i));
                guest += length;
            }
            var laid = RecordingFile.LayOut(regions, regions.Count, 3, alignLargePages: true);
            var previousEnd = 8 * K;
            foreach (var r in laid)
            {
                var holdsBlock = GuestLayoutAlignUp(r.GuestOffset) + Large <= r.GuestOffset + r.Length;
                Assert.True(r.FileOffset >= previousEnd, $"region at guest {r.GuestOffset:x} overlaps the one before");
                if (holdsBlock)
                {
                    Assert.Equal(r.GuestOffset % Large, r.FileOffset % Large);
                    Assert.True(r.FileOffset - previousEnd < Large, "a hole of a large page or more");
                }
                else
                {
                    Assert.Equal(previousEnd, r.FileOffset);
                }
                Assert.Equal(0UL, r.FileOffset % (4 * K));
                previousEnd = r.FileOffset + r.Length;
            }
        }
    }

    private static ulong GuestLayoutAlignUp(ulong value) => (value + Large - 1) & ~(Large - 1);
}

using Snapfn.Snapshots.Recording;

namespace Snapfn.Snapshots.Tests;

/// <summary>A memory file made full (zeros written out) and sparse again keeps its bytes and its non-zero pages.</summary>
public sealed class MemoryFileLayoutTests
{
    private const int Page = 4096;

    [Fact]
    public void A_memory_file_made_full_then_sparse_keeps_its_bytes_and_its_non_zero_pages()
    {
        var path = Path.GetTempFileName();
        try
        {
            // 16 MiB with data in pages 3-4 and 1000, and one zero page written out (page 2000): the non-zero
            // pages are what counts, however the zeros are stored.
            using (var file = File.OpenHandle(path, FileMode.Create, FileAccess.Write))
            {
                RandomAccess.SetLength(file, 16L << 20);
                RandomAccess.Write(file, Filled(2 * Page, 7), 3L * Page);
                RandomAccess.Write(file, Filled(Page, 9), 1000L * Page);
                RandomAccess.Write(file, new byte[Page], 2000L * Page);
                RandomAccess.FlushToDisk(file);
            }
            var bytes = File.ReadAllBytes(path);
            GuestRange[] expected = [new(3UL * Page, 2UL * Page), new(1000UL * Page, Page)];
            Assert.Equal(expected, SparseMap.NonZeroRanges(path));
            Assert.False(MemoryFileLayout.IsFull(path));

            MemoryFileLayout.Ensure(path, full: true);
            Assert.True(MemoryFileLayout.IsFull(path));
            Assert.Equal(bytes, File.ReadAllBytes(path));
            Assert.Equal(expected, SparseMap.NonZeroRanges(path));
            Assert.Single(SparseMap.DataRanges(path));

            MemoryFileLayout.Ensure(path, full: false);
            Assert.False(MemoryFileLayout.IsFull(path));
            Assert.Equal(bytes, File.ReadAllBytes(path));
            Assert.Equal(expected, SparseMap.DataRanges(path));
            Assert.True(PageCache.Sizes(path).Allocated <= 4 * Page, $"{PageCache.Sizes(path).Allocated} bytes allocated");
        }
        finally
        {
            File.Delete(path);
        }
    }

    private static byte[] Filled(int length, byte value)
    {
        var bytes = new byte[length];
        Array.Fill(bytes, value);
        return bytes;
    }
}

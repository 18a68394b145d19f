namespace Snapfn.Snapshots.Tests;

/// <summary>cached's preparation: the whole file, holes included, ends in the page cache, and once it is there it
/// is not read again.</summary>
public sealed class PageCacheTests
{
    [Fact]
    public void Loading_a_sparse_file_caches_its_holes_too()
    {
        var path = Path.GetTempFileName();
        try
        {
            using (var file = File.OpenHandle(path, FileMode.Create, FileAccess.Write))
            {
                RandomAccess.SetLength(file, 8L << 20);
                RandomAccess.Write(file, new byte[] { 1, 2, 3 }, 4096);
                RandomAccess.FlushToDisk(file);
            }
            PageCache.Drop(path);
            Assert.False(PageCache.IsWhollyCached(path));
            PageCache.Load(path);
            Assert.True(PageCache.IsWhollyCached(path));
        }
        finally
        {
            File.Delete(path);
        }
    }
}

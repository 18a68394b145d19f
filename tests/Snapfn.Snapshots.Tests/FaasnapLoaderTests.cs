using Snapfn.Snapshots.Backends;
using Snapfn.Snapshots.Recording;
using Snapfn.Vmm;

namespace Snapfn.Snapshots.Tests;

/// <summary>The loader thread on its own (no KVM): its failure path, FaaSnap's touch loader filling the page
/// cache, and the populate loader filling the guest's mapping. The failure seen end to end, through an
/// invocation, is in the daemon's ExtraModeTests.</summary>
public sealed class FaasnapLoaderTests
{
    private const ulong Length = 4UL << 20;

    private static RecordingFile Recording() => new("faasnap", Guid.NewGuid(),
        RecordingFile.LayOut([(0UL, Length, 0U)], 1, 0, alignLargePages: true), [],
        RecordingProvenance.Of("A"u8, ""));

    private sealed class Failing : IChunkLoader
    {
        public bool PageCacheOnly => true;

        public void Load(in LoaderChunk chunk) => throw new IOException("cannot load");
    }

    private static string LoadingSetFile(RecordingFile recording)
    {
        var path = Path.GetTempFileName();
        var bytes = new byte[recording.FileLength];
        Random.Shared.NextBytes(bytes);
        using var file = File.OpenHandle(path, FileMode.Create, FileAccess.Write);
        RandomAccess.Write(file, bytes, 0);
        // Dirty pages cannot be dropped from the page cache: on disk first.
        RandomAccess.FlushToDisk(file);
        return path;
    }

    [Fact]
    public void A_loader_whose_method_fails_records_why_and_loads_nothing()
    {
        var recording = Recording();
        using var target = MemoryMapping.Anonymous(Length);
        var path = LoadingSetFile(recording);
        try
        {
            using var loader = new FaasnapLoader(recording, path, target.Address, new Failing());
            // Stop() would tell the thread to give up before its first chunk: wait for it to fail on its own.
            SpinWait.SpinUntil(() => loader.Failure is not null, TimeSpan.FromSeconds(10));
            loader.Stop();
            Assert.Equal("cannot load", loader.Failure?.Message);
            Assert.Equal(0, loader.BytesLoaded);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void The_touch_loader_brings_the_loading_set_into_the_page_cache_only()
    {
        var recording = Recording();
        using var target = MemoryMapping.Anonymous(Length);
        var path = LoadingSetFile(recording);
        try
        {
            PageCache.Drop(path);
            var before = PageCache.Count(path).Cached;
            using var loader = new FaasnapLoader(recording, path, target.Address, new TouchChunkLoader());
            SpinWait.SpinUntil(() => loader.BytesLoaded == (long)recording.DataBytes, TimeSpan.FromSeconds(10));
            loader.Stop();
            Assert.Null(loader.Failure);
            Assert.Equal((long)recording.DataBytes, loader.BytesLoaded);
            var dataPages = (long)(recording.DataBytes / GuestLayout.PageSize);
            Assert.True(before < dataPages, $"the file should start (mostly) uncached: {before} of {dataPages} pages cached");
            Assert.True(PageCache.Count(path).Cached >= dataPages, $"{PageCache.Count(path).Cached} of {dataPages} pages cached after the load");
            // The guest's mapping (anonymous here) was not touched: FaaSnap's loader fills the page cache, nothing else.
            Assert.Equal(0, Mapped(target));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void The_populate_loader_maps_the_pages_into_the_guest()
    {
        var recording = Recording();
        using var target = MemoryMapping.Anonymous(Length);
        var path = LoadingSetFile(recording);
        try
        {
            using (var file = SnapshotMapping.OpenReadOnly(path))
                target.MapFilePrivate(0, Length, file, recording.Regions[0].FileOffset);
            using var loader = new FaasnapLoader(recording, path, target.Address, new PopulateChunkLoader());
            SpinWait.SpinUntil(() => loader.BytesLoaded == (long)recording.DataBytes, TimeSpan.FromSeconds(10));
            loader.Stop();
            Assert.Null(loader.Failure);
            Assert.Equal((long)(Length / GuestLayout.PageSize), Mapped(target));
        }
        finally
        {
            File.Delete(path);
        }
    }

    /// <summary>Pages of <paramref name="mapping"/> this process has in its page tables (pagemap, not mincore:
    /// a cached file page is not a mapped page).</summary>
    private static long Mapped(MemoryMapping mapping)
    {
        var vector = new byte[mapping.Length / GuestLayout.PageSize];
        // GuestMemory only reads the mapping here; the test's `using` unmaps it.
        new GuestMemory(mapping).MappedPages(0, mapping.Length, vector);
        return vector.Count(b => b != 0);
    }
}

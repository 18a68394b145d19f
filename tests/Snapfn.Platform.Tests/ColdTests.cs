using Snapfn.Snapshots;
using Snapfn.Snapshots.Backends;

namespace Snapfn.Platform.Tests;

/// <summary>`--cold` empties the page cache of the mode's files; a cached run starts from a full one.</summary>
public sealed class ColdTests : IDisposable
{
    private readonly ScriptFunctionHome _home = new();

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    private IReadOnlyList<string> Files(FunctionInfo function, string mode) =>
        ((IMemoryBackend)RestoreModes.Get(mode)).Files(_home.Snapshots.Open(function));

    [Theory]
    [InlineData("vanilla")]
    [InlineData("reap")]
    [InlineData("faasnap")]
    public void Make_cold_drops_every_file_of_the_mode_from_the_page_cache(string mode)
    {
        var function = _home.Function("cold-" + mode, "def handle(r):\n    return r\n");
        _home.Snapshots.Take(function, _home.Options);
        if (mode != "vanilla")
            _home.Records.Record(function, mode, "A"u8.ToArray(), _home.Options);
        var files = Files(function, mode);
        Assert.Equal(mode == "vanilla" ? 1 : 2, files.Count);
        foreach (var file in files)
        {
            PageCache.Load(file);
            Assert.True(PageCache.Count(file).Cached > 0, $"{file} was not loaded, so the drop below proves nothing");
        }

        _home.Invoker.MakeCold(function, mode);

        Assert.All(files, file => Assert.Equal(0, PageCache.Count(file).Cached));
    }

    [Fact]
    public void A_cold_vanilla_run_finds_nothing_cached_and_a_cached_run_finds_its_memory_file_cached()
    {
        var function = _home.Function("cold-cached", "def handle(r):\n    return r\n");
        _home.Snapshots.Take(function, _home.Options);

        var cached = _home.Invoker.Invoke(new InvocationRequest(function, "cached", "x"u8.ToArray(), Cold: false), _home.Options, Cancel);
        Assert.True(cached.CachedPagesBefore > 0, $"cached run: {cached.CachedPagesBefore} pages cached before");
        Assert.True(PageCache.Count(_home.Snapshots.Open(function).MemoryPath).Cached > 0);

        // The cached run left the memory file in the page cache: only the cold drop can make this 0.
        var cold = _home.Invoker.Invoke(new InvocationRequest(function, "vanilla", "x"u8.ToArray(), Cold: true), _home.Options, Cancel);
        Assert.Equal(0, cold.CachedPagesBefore);
        Assert.Null(cold.Degraded);
        Assert.Equal("x"u8.ToArray(), cold.Output);

        // And without --cold, vanilla restores from whatever the last run left cached.
        var warmCache = _home.Invoker.Invoke(new InvocationRequest(function, "vanilla", "x"u8.ToArray(), Cold: false), _home.Options, Cancel);
        Assert.True(warmCache.CachedPagesBefore > 0, $"vanilla after vanilla: {warmCache.CachedPagesBefore} pages cached before");
    }

    public void Dispose() => _home.Dispose();
}

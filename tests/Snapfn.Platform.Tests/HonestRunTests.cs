using System.IO.MemoryMappedFiles;

namespace Snapfn.Platform.Tests;

/// <summary>Runs that cannot lie: a cold run whose files were not cold says so, a clean run says nothing.</summary>
public sealed class HonestRunTests : IDisposable
{
    private readonly ScriptFunctionHome _home = new();

    [Fact]
    public void A_cold_run_whose_memory_file_stayed_cached_is_marked_degraded()
    {
        var function = _home.Function("honest", "def handle(r):\n    return b'ok'\n");
        _home.Snapshots.Take(function, _home.Options);
        var clean = _home.Invoker.Invoke(new InvocationRequest(function, "vanilla", [], Cold: true), _home.Options, TestContext.Current.CancellationToken);
        Assert.Equal(0, clean.CachedPagesBefore);
        Assert.Null(clean.Degraded);

        // A page cache the drop cannot empty: this mapping keeps the memory file's pages resident.
        var path = _home.Snapshots.Open(function).MemoryPath;
        using var file = MemoryMappedFile.CreateFromFile(path, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
        using var view = file.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
        var sum = 0L;
        for (long offset = 0; offset < Math.Min(view.Capacity, 64L << 20); offset += 4096)
            sum += view.ReadByte(offset);
        var degraded = _home.Invoker.Invoke(new InvocationRequest(function, "vanilla", [], Cold: true), _home.Options, TestContext.Current.CancellationToken);
        Assert.True(degraded.CachedPagesBefore > 0, $"pages cached before: {degraded.CachedPagesBefore} (sum {sum})");
        Assert.Contains("asked cold", degraded.Degraded, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("reap")]
    [InlineData("faasnap")]
    public void A_recording_knows_its_input_and_options_and_another_input_does_not_pass_for_it(string mode)
    {
        var function = _home.Function("provenance", "def handle(r):\n    return r\n");
        _home.Snapshots.Take(function, _home.Options);
        var inputA = "A"u8.ToArray();
        _home.Records.Record(function, mode, inputA, _home.Options);
        _home.Records.Check(function, mode, inputA);
        var e = Assert.Throws<Snapfn.Snapshots.SnapshotInvalidException>(() => _home.Records.Check(function, mode, "B"u8.ToArray()));
        Assert.Contains("another input or other options", e.Message, StringComparison.Ordinal);
        if (mode == "faasnap")
            Assert.Throws<Snapfn.Snapshots.SnapshotInvalidException>(() =>
                _home.Records.Check(function, mode, inputA, new Snapfn.Snapshots.Recording.FaasnapRecordOptions { GapPages = 0 }));
    }

    public void Dispose() => _home.Dispose();
}

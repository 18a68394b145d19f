using Snapfn.Snapshots.Backends;
using Snapfn.Snapshots.Recording;
using Snapfn.Vmm;

namespace Snapfn.Snapshots.Tests;

/// <summary>
/// The loader's failure path (no KVM). A failure inside a real restore cannot be provoked from a test: the restore
/// checks the loading-set file (checksum, exact length) and maps it just before the loader opens it, so there is no
/// window to break it in. The loader itself is public, and a file it cannot read makes it fail.
/// </summary>
public sealed class FaasnapLoaderTests
{
    private static RecordingFile Recording(ulong length) => new("faasnap", Guid.NewGuid(),
        RecordingFile.LayOut([(0UL, length, 0U)], 1, 0, alignLargePages: true), [],
        RecordingProvenance.Of("A"u8, ""));

    [Fact]
    public void A_loader_that_cannot_read_its_file_records_why_and_loads_nothing()
    {
        var recording = Recording(4UL << 20);
        using var target = MemoryMapping.Anonymous(4UL << 20);
        // A directory opens read-only, and every pread of it fails with EISDIR.
        var directory = Directory.CreateTempSubdirectory("snapfn-loader-").FullName;
        try
        {
            using var loader = new FaasnapLoader(recording, directory, target.Address, LoaderMethod.Pread);
            // Stop() would tell the thread to give up before its first read: wait for it to fail on its own.
            SpinWait.SpinUntil(() => loader.Failure is not null, TimeSpan.FromSeconds(10));
            loader.Stop();
            Assert.NotNull(loader.Failure);
            Assert.Contains("pread(loading set)", loader.Failure.Message, StringComparison.Ordinal);
            Assert.Equal(0, loader.BytesLoaded);
        }
        finally
        {
            Directory.Delete(directory);
        }
    }

    [Fact]
    public void A_loader_that_reads_its_file_has_no_failure_and_counts_every_byte()
    {
        var recording = Recording(4UL << 20);
        using var target = MemoryMapping.Anonymous(4UL << 20);
        var path = Path.GetTempFileName();
        try
        {
            File.WriteAllBytes(path, new byte[recording.FileLength]);
            using var loader = new FaasnapLoader(recording, path, target.Address, LoaderMethod.Pread);
            SpinWait.SpinUntil(() => loader.BytesLoaded == (long)recording.DataBytes, TimeSpan.FromSeconds(10));
            loader.Stop();
            Assert.Null(loader.Failure);
            Assert.Equal((long)recording.DataBytes, loader.BytesLoaded);
        }
        finally
        {
            File.Delete(path);
        }
    }
}

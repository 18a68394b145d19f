using Snapfn.Interop;
using Snapfn.Snapshots.Backends;
using Snapfn.Snapshots.Recording;
using Snapfn.Vmm;

namespace Snapfn.Snapshots.Tests;

/// <summary>`snapfn verify`'s library call: the memory file against the digest written with it.</summary>
public sealed class VerifyTests : IDisposable
{
    private const ulong MemorySize = HandmadeSnapshot.MemorySize;
    private const string Sha256 = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
    private readonly string _root = Directory.CreateTempSubdirectory("snapfn-verify-").FullName;

    /// <summary>A snapshot folder written by hand with a few random data pages.</summary>
    private (Snapshot Snapshot, ulong[] DataPages) Write()
    {
        var folder = new SnapshotFolder(Path.Combine(_root, "fn"), "fn");
        ulong[] pages = [0x1000, 0x2000, 0x200000, 0x200000 + 4096 * 7, 0x4000000, MemorySize - 4096];
        HandmadeSnapshot.Take(folder, Sha256, pages.Select(offset =>
        {
            var page = new byte[GuestLayout.PageSize];
            Random.Shared.NextBytes(page);
            return (offset, page);
        }));
        return (Snapshot.Open(folder, new HandmadeSnapshot.NoProgram(Sha256)), pages);
    }

    private static void Flip(string path, ulong offset)
    {
        using var file = File.OpenHandle(path, FileMode.Open, FileAccess.ReadWrite);
        var b = new byte[1];
        RandomAccess.Read(file, b, (long)offset);
        b[0] ^= 0x20;
        RandomAccess.Write(file, b, (long)offset);
    }

    [Fact]
    public void An_untouched_snapshot_verifies_and_only_its_data_is_read()
    {
        var (snapshot, pages) = Write();
        var result = SnapshotVerifier.Check(snapshot);
        Assert.True(result.Ok);
        Assert.StartsWith("xxh128:", result.Digest);
        Assert.Equal(snapshot.State.MemoryDigest.Summary, result.Digest);
        // The holes are skipped: far less than the 256 MiB file is read.
        Assert.InRange(result.BytesRead, (ulong)pages.Length * GuestLayout.PageSize, 8UL << 20);
    }

    [Fact]
    public void A_flipped_byte_in_the_guest_s_data_is_reported_with_its_range_and_the_remedy()
    {
        var (snapshot, _) = Write();
        var offset = 0x4000000UL + 1234;
        Flip(snapshot.MemoryPath, offset);
        var result = SnapshotVerifier.Verify(snapshot);
        var range = Assert.Single(result.Mismatches);
        Assert.InRange(offset, range.Start, range.End - 1);
        var e = Assert.Throws<SnapshotInvalidException>(() => SnapshotVerifier.Check(snapshot));
        Assert.Contains($"0x{range.Start:x}-0x{range.End:x}", e.Message);
        Assert.Equal(SnapshotRemedy.TakeSnapshot("fn"), e.Remedy);
    }

    [Fact]
    public void A_recording_whose_pages_differ_from_the_memory_file_is_reported_with_recording_again_as_the_remedy()
    {
        var (snapshot, pages) = Write();
        var path = snapshot.Folder.File(ReapBackend.FileName);
        var recording = RecordingWriter.Write(path, "reap", snapshot, [(pages[2], 8 * GuestLayout.PageSize, 0), (pages[4], GuestLayout.PageSize, 1)], [],
            alignLargePages: false, RecordingProvenance.Of([], "test"));
        var result = SnapshotVerifier.Check(snapshot);
        Assert.Equal(9 * GuestLayout.PageSize, Assert.Single(result.Recordings).BytesCompared);

        var region = recording.Regions.Single(r => r.GuestOffset == pages[4]);
        Flip(path, region.FileOffset + 100);
        var mismatch = Assert.Single(Assert.Single(SnapshotVerifier.Verify(snapshot).Recordings).Mismatches);
        Assert.Equal(pages[4], mismatch.Start);
        var e = Assert.Throws<SnapshotInvalidException>(() => SnapshotVerifier.Check(snapshot));
        Assert.Equal(SnapshotRemedy.Record("fn", "reap"), e.Remedy);
    }

    [Fact]
    public void A_byte_written_into_a_hole_is_found_too()
    {
        var (snapshot, _) = Write();
        var offset = 0x8000000UL + 5; // a page the snapshot left as a hole
        Flip(snapshot.MemoryPath, offset);
        var range = Assert.Single(SnapshotVerifier.Verify(snapshot).Mismatches);
        Assert.InRange(offset, range.Start, range.End - 1);
    }

    [Fact]
    public void Zero_pages_written_out_read_the_same_as_holes()
    {
        var (snapshot, _) = Write();
        using (var file = File.OpenHandle(snapshot.MemoryPath, FileMode.Open, FileAccess.ReadWrite))
            RandomAccess.Write(file, new byte[1 << 20], 0x6000000);
        Assert.True(SnapshotVerifier.Verify(snapshot).Ok);
    }

    [Fact]
    public async Task The_VMM_s_pages_are_installed_into_userfaultfd_memory_without_waiting_for_a_fault_server()
    {
        var layout = GuestLayout.For(128UL << 20, 0x240000);
        using var mapping = MemoryMapping.Anonymous(layout.MemorySize);
        using var uffd = new UserFaultFd(mapping.Address, mapping.Length);
        var memory = new GuestMemory(mapping, uffd.Copy);
        // One VMM page is already present with foreign bytes (a page a prefetch installed from a corrupt file).
        var junk = new byte[GuestLayout.PageSize];
        junk.AsSpan().Fill(0xcc);
        uffd.Copy((ulong)mapping.Address + GuestLayout.Pml4Address, junk);
        var pages = VmmPages.ForRuntime(layout);
        // No server runs: a plain host write to a missing page would wait forever, so a hang here is the failure.
        var cancel = TestContext.Current.CancellationToken;
        var write = Task.Run(() => pages.WriteTo(memory), cancel);
        Assert.Same(write, await Task.WhenAny(write, Task.Delay(TimeSpan.FromSeconds(60), cancel)));
        await write;
        var expected = new byte[GuestLayout.LargePageSize];
        pages.CopyTo(expected);
        foreach (var (address, length) in pages.Ranges)
            Assert.True(memory.Span(address, length).SequenceEqual(expected.AsSpan((int)address, (int)length)), $"range 0x{address:x}");
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);
}

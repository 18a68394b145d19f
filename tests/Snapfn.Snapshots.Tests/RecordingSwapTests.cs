using Snapfn.Interop;
using Snapfn.Snapshots.Backends;
using Snapfn.Snapshots.Recording;
using Snapfn.Vmm;

namespace Snapfn.Snapshots.Tests;

/// <summary>
/// Issue 21: a recording made again (requests drifted) replaces the live one by rename, and a restore that had
/// opened the old one finishes on it — its index, its pages and its mappings all from the one file it pinned. No KVM.
/// </summary>
public sealed class RecordingSwapTests : IDisposable
{
    private const ulong MemorySize = 64UL << 20;
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("snapfn-swap-");
    private readonly Guid _snapshot = Guid.NewGuid();

    private string Live => Path.Combine(_dir.FullName, ReapBackend.FileName);

    private static SnapshotRemedy Remedy => SnapshotRemedy.Record("f", "reap");

    /// <summary>Writes a reap recording of one region at <paramref name="guestOffset"/> whose pages are all <paramref name="fill"/>.</summary>
    private string WriteRecording(string path, ulong guestOffset, ulong pages, byte fill)
    {
        var file = new RecordingFile("reap", _snapshot, RecordingFile.LayOut([(guestOffset, pages * GuestLayout.PageSize, 0U)], 1, 0, alignLargePages: false),
            [], RecordingProvenance.Of([fill], "reap"));
        var bytes = new byte[file.FileLength];
        file.SerializeMetadata().CopyTo(bytes, 0);
        bytes.AsSpan((int)file.DataOffset).Fill(fill);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    [Fact]
    public void A_swap_replaces_the_file_by_rename_and_a_reader_holding_the_old_file_still_reads_the_old_content()
    {
        File.WriteAllText(Live, "old recording");
        using var reader = File.OpenHandle(Live, FileMode.Open, FileAccess.Read);
        var staged = RecordingSwap.StagingPath(Live);
        File.WriteAllText(staged, "new recording, longer");

        RecordingSwap.Swap(staged, Live);

        Assert.False(File.Exists(staged));
        Assert.Equal("new recording, longer", File.ReadAllText(Live));
        var buffer = new byte[64];
        var read = RandomAccess.Read(reader, buffer, 0);
        Assert.Equal("old recording", System.Text.Encoding.ASCII.GetString(buffer, 0, read));
    }

    [Fact]
    public void A_pinned_recording_keeps_its_index_and_its_pages_when_a_new_recording_is_swapped_in()
    {
        WriteRecording(Live, guestOffset: 0, pages: 2, fill: 0xaa);
        using var old = RecordingFile.Pin(Live, "reap", _snapshot, MemorySize, Remedy);

        var staged = WriteRecording(RecordingSwap.StagingPath(Live), guestOffset: 16 * GuestLayout.PageSize, pages: 5, fill: 0xbb);
        RecordingSwap.Swap(staged, Live);

        // What the old restore reads through its descriptor is the old file: its index and its pages agree.
        Assert.Equal(2UL, old.Recording.Pages);
        var page = new byte[GuestLayout.PageSize];
        Assert.Equal(page.Length, (int)Libc.pread(old.File, page, (long)old.Recording.Regions[0].FileOffset));
        Assert.All(page, b => Assert.Equal(0xaa, b));
        // ... and so does its O_DIRECT reopen (how REAP reads the working set), through /proc/self/fd.
        Assert.Equal(FileVersion.Of($"/proc/self/fd/{old.File.DangerousGetHandle()}"), old.Version);

        using var fresh = RecordingFile.Pin(Live, "reap", _snapshot, MemorySize, Remedy);
        Assert.NotEqual(old.Version, fresh.Version);
        Assert.Equal(5UL, fresh.Recording.Pages);
        Assert.Equal(16 * GuestLayout.PageSize, fresh.Recording.Regions[0].GuestOffset);
        Assert.Equal(page.Length, (int)Libc.pread(fresh.File, page, (long)fresh.Recording.Regions[0].FileOffset));
        Assert.All(page, b => Assert.Equal(0xbb, b));
    }

    [Fact]
    public void A_missing_recording_is_named_with_how_to_make_it()
    {
        var e = Assert.Throws<SnapshotInvalidException>(() => RecordingFile.Pin(Live, "reap", _snapshot, MemorySize, Remedy));
        Assert.Contains("has no reap recording", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Staging_files_stay_beside_the_live_one_and_stale_ones_are_deleted()
    {
        var elsewhere = Path.Combine(Directory.CreateTempSubdirectory("snapfn-swap-other-").FullName, "x");
        File.WriteAllText(elsewhere, "x");
        Assert.Throws<ArgumentException>(() => RecordingSwap.Swap(elsewhere, Live));

        var stale = RecordingSwap.StagingPath(Live);
        File.WriteAllText(stale, "left by a crash");
        File.WriteAllText(Path.Combine(_dir.FullName, FaasnapBackend.FileName), "another recording");
        RecordingSwap.DeleteStale(Live);
        Assert.False(File.Exists(stale));
        Assert.True(File.Exists(Path.Combine(_dir.FullName, FaasnapBackend.FileName)));
        Directory.Delete(Path.GetDirectoryName(elsewhere)!, recursive: true);
    }

    [Fact]
    public void Pages_outside_a_recording_are_its_data_ranges_without_its_regions()
    {
        const ulong P = GuestLayout.PageSize;
        var outside = MappedPages.Outside([new GuestRange(0, 10 * P), new GuestRange(20 * P, 4 * P)],
            [new RecordedRegion(22 * P, 1 * P, 0, 0), new RecordedRegion(2 * P, 3 * P, 0, 1), new RecordedRegion(8 * P, 4 * P, 0, 2)]);
        Assert.Equal([new GuestRange(0, 2 * P), new GuestRange(5 * P, 3 * P), new GuestRange(20 * P, 2 * P), new GuestRange(23 * P, P)], outside);
    }

    [Fact]
    public void The_host_page_tables_say_which_pages_were_touched()
    {
        // 64 KiB: too small a mapping for a transparent huge page, so each touch maps one 4 KiB page.
        const ulong P = GuestLayout.PageSize;
        using var memory = MemoryMapping.Anonymous(16 * P);
        Assert.Equal(0, MappedPages.Count(memory.Address, [new GuestRange(0, 16 * P)]));
        unsafe
        {
            var bytes = (byte*)memory.Address;
            bytes[0] = 1;
            bytes[3 * P] = 1;
            bytes[9 * P + 17] = 1;
        }
        Assert.Equal(3, MappedPages.Count(memory.Address, [new GuestRange(0, 16 * P)]));
        Assert.Equal(1, MappedPages.Count(memory.Address, [new GuestRange(P, 8 * P)]));
    }

    public void Dispose() => _dir.Delete(recursive: true);
}

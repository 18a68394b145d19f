using Snapfn.Snapshots.Backends;
using Snapfn.Snapshots.Recording;
using Snapfn.Vmm;

namespace Snapfn.Snapshots.Tests;

/// <summary>Every restore mode gives the same answers and the same memory; bad recordings are refused.</summary>
public sealed class ModeTests
{
    private static readonly IMemoryBackend[] _backends = [.. RestoreModes.All.OfType<IMemoryBackend>()];

    private static TempSnapshot Recorded(string guest, string inputA)
    {
        var snap = new TempSnapshot(guest);
        var snapshot = snap.Open();
        var input = System.Text.Encoding.UTF8.GetBytes(inputA);
        ReapRecorder.Record(snapshot, input, TempSnapshot.Options);
        FaasnapRecorder.Record(snapshot, input, TempSnapshot.Options, new FaasnapRecordOptions());
        return snap;
    }

    [Fact]
    public void Recorded_with_A_and_invoked_with_B_every_mode_answers_alike()
    {
        Guests.RequireKvm();
        using var snap = Recorded("touch", """{"seed":1}""");
        var expected = snap.BootAndInvoke("""{"seed":2}""");
        Assert.Contains("\"seed\":2", expected);
        foreach (var backend in _backends)
        {
            PageCache.Drop(snap.Open().MemoryPath);
            Assert.Equal(expected, snap.Invoke(backend, """{"seed":2}"""));
        }
    }

    [Fact]
    public unsafe void Restored_memory_equals_the_snapshot_page_for_page()
    {
        Guests.RequireKvm();
        using var snap = Recorded("memfill", "");
        var snapshot = snap.Open();
        var file = File.ReadAllBytes(snapshot.MemoryPath);
        foreach (var backend in _backends)
        {
            var (shell, memory) = TempSnapshot.Restore(backend, snapshot);
            using var owned = memory;
            // Host reads go through the same paths as guest reads: mappings, loaded regions, uffd faults.
            using var vm = MicroVm.Restore(shell, memory.Memory, snapshot.State.Layout, snapshot.State.Vcpu, TempSnapshot.Options);
            memory.AttachGuest(vm.Stop);
            memory.BeforeFirstRun();
            // The VMM's pages are its own, rebuilt (the mailbox's argument words differ from the file's); the rest is the file's.
            var expected = (byte[])file.Clone();
            vm.OwnedPages.CopyTo(expected);
            for (ulong offset = 0; offset < snapshot.State.MemorySize; offset += 16UL << 20)
            {
                var length = Math.Min(16UL << 20, snapshot.State.MemorySize - offset);
                Assert.True(memory.Memory.Span(offset, length).SequenceEqual(expected.AsSpan((int)offset, (int)length)),
                    $"{backend.Mode}: guest memory differs from the snapshot in [0x{offset:x}, +0x{length:x})");
            }
            memory.AfterRun();
        }
    }

    [Fact]
    public void Flipped_bytes_in_the_page_tables_GDT_and_TSS_of_the_memory_file_do_not_reach_a_restored_guest_in_any_mode()
    {
        Guests.RequireKvm();
        using var snap = new TempSnapshot("touch");
        var expected = snap.BootAndInvoke("""{"seed":2}""");
        var path = snap.Open().MemoryPath;
        // PML4 entry 0 loses its present bit, the ELF's 2 MiB page its user bit, user code its DPL 3, and the TSS's
        // bitmap closes the hypercall port: each alone, taken from the file, ends the guest in a triple fault.
        (ulong Offset, byte Mask)[] flips =
        [
            (GuestLayout.Pml4Address, 0x01), (GuestLayout.PageDirectoriesAddress + 8, 0x04),
            (GuestLayout.GdtAddress + 3 * 8 + 5, 0x60), (GuestLayout.TssAddress + GdtBuilder.IoBitmapOffset + GuestAbi.HypercallPort / 8, 0x0f),
        ];
        using (var file = File.OpenHandle(path, FileMode.Open, FileAccess.ReadWrite))
        {
            foreach (var (offset, mask) in flips)
            {
                var b = new byte[1];
                RandomAccess.Read(file, b, (long)offset);
                b[0] ^= mask;
                RandomAccess.Write(file, b, (long)offset);
            }
        }
        // Recorded after the flips, so that the recordings' copies of these pages are the corrupt ones too.
        var snapshot = snap.Open();
        var input = System.Text.Encoding.UTF8.GetBytes("""{"seed":1}""");
        ReapRecorder.Record(snapshot, input, TempSnapshot.Options);
        FaasnapRecorder.Record(snapshot, input, TempSnapshot.Options, new FaasnapRecordOptions());
        foreach (var backend in _backends)
        {
            PageCache.Drop(path);
            Assert.Equal(expected, snap.Invoke(backend, """{"seed":2}"""));
        }
        // The file still holds the flips (a restore never writes it), and verify names the first 2 MiB.
        Assert.Equal(0UL, SnapshotVerifier.Verify(snapshot).Mismatches.Single().Start);
    }

    [Theory]
    [InlineData("reap", ReapBackend.FileName)]
    [InlineData("faasnap", FaasnapBackend.FileName)]
    public void A_missing_truncated_or_corrupt_recording_is_refused_with_recording_again_as_the_remedy(string mode, string fileName)
    {
        Guests.RequireKvm();
        using var snap = Recorded("hello-world", "");
        var backend = _backends.Single(b => b.Mode == mode);
        var path = snap.Folder.File(fileName);
        var good = File.ReadAllBytes(path);
        var expected = SnapshotRemedy.Record("hello-world", mode);

        File.WriteAllBytes(path, good[..(good.Length - 4096)]);
        Assert.Equal(expected, Assert.Throws<SnapshotInvalidException>(() => TempSnapshot.Restore(backend, snap.Open())).Remedy);

        var corrupt = (byte[])good.Clone();
        corrupt[RecordingFile.HeaderSize + 3] ^= 0x10;
        File.WriteAllBytes(path, corrupt);
        Assert.Contains("checksum", Assert.Throws<SnapshotInvalidException>(() => TempSnapshot.Restore(backend, snap.Open())).Message);

        File.Delete(path);
        Assert.Equal(expected, Assert.Throws<SnapshotInvalidException>(() => TempSnapshot.Restore(backend, snap.Open())).Remedy);
    }

    [Fact]
    public void A_recording_is_read_once_until_its_file_is_replaced_or_cut()
    {
        Guests.RequireKvm();
        using var snap = Recorded("hello-world", "");
        var snapshot = snap.Open();
        var path = snap.Folder.File(FaasnapBackend.FileName);
        var first = RecordingFile.Open(path, FaasnapBackend.RecordingKind, snapshot);
        Assert.Same(first, RecordingFile.Open(path, FaasnapBackend.RecordingKind, snapshot));

        // Recorded again: a new file renamed over the old one is read again.
        FaasnapRecorder.Record(snapshot, [], TempSnapshot.Options, new FaasnapRecordOptions());
        var second = RecordingFile.Open(path, FaasnapBackend.RecordingKind, snapshot);
        Assert.NotSame(first, second);
        Assert.Same(second, RecordingFile.Open(path, FaasnapBackend.RecordingKind, snapshot));

        // Cut short in place: refused, though it was read before.
        using (var file = File.OpenHandle(path, FileMode.Open, FileAccess.Write))
            RandomAccess.SetLength(file, RandomAccess.GetLength(file) - 4096);
        Assert.Throws<SnapshotInvalidException>(() => RecordingFile.Open(path, FaasnapBackend.RecordingKind, snapshot));
    }

    [Fact]
    public void A_recording_from_an_older_snapshot_is_refused()
    {
        Guests.RequireKvm();
        using var snap = Recorded("hello-world", "");
        snap.Take();
        foreach (var backend in _backends.Where(b => b.Mode is "reap" or "faasnap"))
            Assert.Contains("older snapshot", Assert.Throws<SnapshotInvalidException>(() => TempSnapshot.Restore(backend, snap.Open())).Message);
    }

    [Fact]
    public void Faasnap_regions_merge_small_gaps_and_keep_layer_order()
    {
        int[] layers = [-1, 0, 0, -1, -1, 1, -1, -1, -1, -1, -1, -1, 0, -1];
        var regions = FaasnapRecorder.Regions(layers, gapPages: 3);
        // Pages 1-2 and 5 are 2 pages apart (< 3): one region, earliest layer 0; page 12 is 6 apart: its own.
        Assert.Equal([(4096UL, 5 * 4096UL, 0u), (12 * 4096UL, 4096UL, 0u)], regions);
        var separate = FaasnapRecorder.Regions(layers, gapPages: 0);
        Assert.Equal([(4096UL, 2 * 4096UL, 0u), (12 * 4096UL, 4096UL, 0u), (5 * 4096UL, 4096UL, 1u)], separate);
    }
}

namespace Snapfn.Snapshots.Tests;

/// <summary>
/// A new snapshot retires the old memory file; one an invocation opened (leased) stays until it is done. The races
/// are driven through seams, no sleeps; no VM is needed (the snapshots are written by hand).
/// </summary>
public sealed class MemoryFileLeaseTests : IDisposable
{
    private const string Sha256 = "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc";
    private readonly string _root = Directory.CreateTempSubdirectory("snapfn-memlease-").FullName;
    private readonly SnapshotFolder _folder;
    private readonly HandmadeSnapshot.NoProgram _program = new(Sha256);

    public MemoryFileLeaseTests() => _folder = new SnapshotFolder(Path.Combine(_root, "fn"), "fn");

    private string Take(string mark) => _folder.File(HandmadeSnapshot.Take(_folder, Sha256, HandmadeSnapshot.Marked(mark)).MemoryFileName);

    [Fact]
    public void A_leased_memory_file_survives_a_new_snapshot_and_goes_when_released()
    {
        var first = Take("one");
        var held = Snapshot.OpenLeased(_folder, _program);
        Assert.True(held.IsLeased);
        Assert.Equal(first, held.MemoryPath);

        var second = Take("two");
        Assert.True(File.Exists(first), "a new snapshot deleted the memory file an invocation holds");
        Assert.True(Snapshot.MemoryFiles.IsDeferred(first));
        Assert.Equal("one", HandmadeSnapshot.MarkOf(held.MemoryPath));
        Assert.Equal(second, Snapshot.Open(_folder, _program).MemoryPath);

        held.Dispose();
        held.Dispose(); // released once
        Assert.False(File.Exists(first), "the old memory file stays after its last user is done");
        Assert.False(Snapshot.MemoryFiles.IsDeferred(first));
        Assert.Equal(0, Snapshot.MemoryFiles.Holders(first));
        Assert.True(File.Exists(second));
    }

    [Fact]
    public void An_unleased_memory_file_is_deleted_by_the_next_snapshot_at_once()
    {
        var first = Take("one");
        using (Snapshot.Open(_folder, _program)) // opened without a lease: a reader of the state only
            Take("two");
        Assert.False(File.Exists(first));
        Assert.Single(Directory.GetFiles(_folder.Path, "memory-*"));
    }

    [Fact]
    public void A_memory_file_retired_between_reading_the_state_and_leasing_it_is_not_used()
    {
        var first = Take("one");
        string? second = null;
        // The other order of the race: the new snapshot lands after the state was read, before the lease.
        using var snapshot = Snapshot.OpenLeased(_folder, _program, stateRead: path =>
        {
            if (path == first)
                second = Take("two");
        });
        Assert.False(File.Exists(first));
        Assert.Equal(second, snapshot.MemoryPath);
        Assert.Equal("two", HandmadeSnapshot.MarkOf(snapshot.MemoryPath));
        Assert.Equal(1, Snapshot.MemoryFiles.Holders(second!));
    }

    [Fact]
    public void A_memory_file_missing_for_another_reason_fails_saying_so_and_holds_nothing()
    {
        var first = Take("one");
        File.Delete(first);
        var e = Assert.Throws<SnapshotInvalidException>(() => Snapshot.OpenLeased(_folder, _program));
        Assert.Contains("is missing", e.Message, StringComparison.Ordinal);
        Assert.Equal(0, Snapshot.MemoryFiles.Holders(first));
    }

    [Fact]
    public void A_leased_snapshot_that_fails_its_checks_releases_its_lease()
    {
        var first = Take("one");
        using (var file = File.OpenHandle(first, FileMode.Open, FileAccess.ReadWrite))
            RandomAccess.SetLength(file, 4096);
        var e = Assert.Throws<SnapshotInvalidException>(() => Snapshot.OpenLeased(_folder, _program));
        Assert.Contains("but the state says", e.Message, StringComparison.Ordinal);
        Assert.Equal(0, Snapshot.MemoryFiles.Holders(first));
    }

    [Fact]
    public void A_memory_file_replaced_by_a_link_is_refused_and_what_it_points_at_is_untouched()
    {
        var first = Take("one");
        // A planted host file with a token, of the size the state expects, and a link to it in the memory file's place.
        var token = Guid.NewGuid().ToString("N");
        var planted = Path.Combine(_root, "planted");
        using (var file = File.OpenHandle(planted, FileMode.CreateNew, FileAccess.ReadWrite))
        {
            RandomAccess.SetLength(file, (long)HandmadeSnapshot.MemorySize);
            RandomAccess.Write(file, System.Text.Encoding.ASCII.GetBytes(token), 0x1000);
        }
        File.Delete(first);
        File.CreateSymbolicLink(first, planted);
        foreach (var open in new Func<Snapshot>[] { () => Snapshot.Open(_folder, _program), () => Snapshot.OpenLeased(_folder, _program) })
        {
            var e = Assert.Throws<SnapshotInvalidException>(open);
            Assert.Contains("is a symbolic link", e.Message, StringComparison.Ordinal);
        }
        Assert.Equal(0, Snapshot.MemoryFiles.Holders(first));
        var ex = Assert.ThrowsAny<IOException>(() => Backends.SnapshotMapping.OpenReadOnly(first).Dispose());
        Assert.Contains("symbolic links", ex.Message, StringComparison.Ordinal);
        Take("two"); // retires the link itself, never what it points at
        Assert.False(File.Exists(first));
        Assert.Equal(token, HandmadeSnapshot.MarkOf(planted));
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);
}

using Snapfn.Snapshots.Backends;

namespace Snapfn.Snapshots.Tests;

/// <summary>Snapshots taken from real guests, restored vanilla and cached.</summary>
public sealed class SnapshotTests
{
    private static readonly IMemoryBackend _vanilla = new VanillaBackend();

    [Fact]
    public void A_restored_invocation_answers_like_a_fresh_boot()
    {
        Guests.RequireKvm();
        using var snap = new TempSnapshot("hello-world");
        const string input = """{"name":"Ada"}""";
        Assert.Equal(snap.BootAndInvoke(input), snap.Invoke(_vanilla, input));
        Assert.Equal("Hello, Ada!", snap.Invoke(new CachedBackend(), input));
    }

    [Fact]
    public void The_memory_file_is_sparse_and_never_written_by_an_invocation()
    {
        Guests.RequireKvm();
        using var snap = new TempSnapshot("remember");
        var snapshot = snap.Open();
        var (apparent, allocated) = PageCache.Sizes(snapshot.MemoryPath);
        Assert.Equal((long)TempSnapshot.MemorySize, apparent);
        Assert.True(allocated < apparent / 16, $"allocated {allocated} of {apparent}");
        // A memory file of zeros would pass the hash check below and hold no guest at all.
        Assert.NotEqual(-1, File.ReadAllBytes(snapshot.MemoryPath).AsSpan().IndexOfAnyExcept((byte)0));
        var hash = System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(snapshot.MemoryPath));
        snap.Invoke(_vanilla, "written by an invocation");
        Assert.Equal(hash, System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(snapshot.MemoryPath)));
    }

    [Fact]
    public void Invocations_never_see_each_others_writes()
    {
        Guests.RequireKvm();
        using var snap = new TempSnapshot("remember");
        // The guest returns what an earlier request stored: from a snapshot, there never is one.
        for (var i = 0; i < 3; i++)
            Assert.Equal("", snap.Invoke(_vanilla, $"request {i}"));
    }

    [Fact]
    public void Eight_concurrent_restores_of_one_snapshot_are_isolated()
    {
        Guests.RequireKvm();
        using var snap = new TempSnapshot("remember");
        var outputs = new string[8];
        Parallel.For(0, 8, new ParallelOptions { MaxDegreeOfParallelism = 8 }, i => outputs[i] = snap.Invoke(_vanilla, $"request {i}"));
        Assert.All(outputs, o => Assert.Equal("", o));
        using var hello = new TempSnapshot("hello-world");
        var greetings = new string[8];
        Parallel.For(0, 8, new ParallelOptions { MaxDegreeOfParallelism = 8 }, i => greetings[i] = hello.Invoke(_vanilla, $$"""{"name":"n{{i}}"}"""));
        Assert.Equal(Enumerable.Range(0, 8).Select(i => $"Hello, n{i}!"), greetings);
    }

    [Fact]
    public void A_flipped_byte_in_the_state_file_is_refused_and_a_retake_fixes_it()
    {
        Guests.RequireKvm();
        using var snap = new TempSnapshot("hello-world");
        var bytes = File.ReadAllBytes(snap.Folder.StatePath);
        bytes[bytes.Length / 2] ^= 0x40;
        File.WriteAllBytes(snap.Folder.StatePath, bytes);
        Assert.Equal(SnapshotRemedy.TakeSnapshot("hello-world"), Assert.Throws<SnapshotInvalidException>(snap.Open).Remedy);
        snap.Take();
        Assert.Equal("Hello, Ada!", snap.Invoke(_vanilla, """{"name":"Ada"}"""));
    }

    [Fact]
    public void A_truncated_state_file_is_refused()
    {
        Guests.RequireKvm();
        using var snap = new TempSnapshot("hello-world");
        var bytes = File.ReadAllBytes(snap.Folder.StatePath);
        File.WriteAllBytes(snap.Folder.StatePath, bytes[..(bytes.Length - 100)]);
        Assert.Equal(SnapshotRemedy.TakeSnapshot("hello-world"), Assert.Throws<SnapshotInvalidException>(snap.Open).Remedy);
    }

    [Fact]
    public void A_snapshot_of_another_build_of_the_elf_is_refused()
    {
        Guests.RequireKvm();
        using var snap = new TempSnapshot("hello-world");
        var e = Assert.Throws<SnapshotInvalidException>(() => Snapshot.Open(snap.Folder, new ElfGuest(Guests.Elf("echo"))));
        Assert.Contains("different build", e.Message);
    }

    [Fact]
    public void A_short_or_missing_memory_file_is_refused()
    {
        Guests.RequireKvm();
        using var snap = new TempSnapshot("hello-world");
        var memory = snap.Open().MemoryPath;
        using (var file = File.OpenHandle(memory, FileMode.Open, FileAccess.Write))
            RandomAccess.SetLength(file, (long)TempSnapshot.MemorySize - 4096);
        Assert.Contains("but the state says", Assert.Throws<SnapshotInvalidException>(snap.Open).Message);
        File.Delete(memory);
        Assert.Contains("is missing", Assert.Throws<SnapshotInvalidException>(snap.Open).Message);
        File.Delete(snap.Folder.StatePath);
        Assert.Contains("has no snapshot", Assert.Throws<SnapshotInvalidException>(snap.Open).Message);
    }

    [Fact]
    public void A_snapshot_interrupted_before_its_state_rename_leaves_the_previous_one_usable()
    {
        Guests.RequireKvm();
        using var snap = new TempSnapshot("hello-world");
        var previous = snap.Open().State.Id;
        // What a crash mid-snapshot leaves: a new memory file (complete or not) and a half-written state file,
        // both under names the old state does not refer to.
        File.WriteAllBytes(snap.Folder.File("memory-0123456789abcdef0123456789abcdef.bin.tmp"), new byte[12345]);
        File.WriteAllBytes(snap.Folder.File("memory-fedcba9876543210fedcba9876543210.bin"), new byte[4096]);
        File.WriteAllBytes(snap.Folder.StatePath + ".999.tmp", new byte[77]);
        Assert.Equal(previous, snap.Open().State.Id);
        Assert.Equal("Hello, Ada!", snap.Invoke(_vanilla, """{"name":"Ada"}"""));
        // The next snapshot completes and clears the leftovers of the interrupted one.
        snap.Take();
        Assert.NotEqual(previous, snap.Open().State.Id);
        Assert.Single(Directory.GetFiles(snap.Folder.Path, "memory-*"));
    }
}

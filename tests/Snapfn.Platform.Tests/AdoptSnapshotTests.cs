using Snapfn.Snapshots;
using Snapfn.Snapshots.Tests;
using Snapfn.Tests;

namespace Snapfn.Platform.Tests;

/// <summary>A snapshot taken on another node, adopted without booting anything (<see cref="FunctionService.AdoptSnapshot"/>):
/// checked before it replaces the function's snapshot, and refused with nothing changed when it does not fit.</summary>
public sealed class AdoptSnapshotTests : IDisposable
{
    private const int Mib = (int)(HandmadeSnapshot.MemorySize >> 20);
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("snapfn-adopt-");

    public void Dispose() => _dir.Delete(recursive: true);

    private FunctionService Service() =>
        new(new SnapfnHome(Path.Combine(_dir.FullName, "home")), new FunctionCatalog(Path.Combine(_dir.FullName, "no-builtins")));

    /// <summary>A snapshot of <paramref name="sha"/>'s code made by hand in a staging folder, as a fetch leaves one.</summary>
    private AdoptedSnapshot Staged(string sha, string mark, int memoryMib = Mib, string function = "adoptee")
    {
        var staging = Directory.CreateDirectory(Path.Combine(_dir.FullName, $"staged-{Guid.NewGuid():N}")).FullName;
        var folder = new SnapshotFolder(staging, function);
        var state = HandmadeSnapshot.Take(folder, sha, HandmadeSnapshot.Marked(mark));
        return new AdoptedSnapshot(folder.StatePath, folder.File(state.MemoryFileName), memoryMib, 1, []);
    }

    [Fact]
    public void An_adopted_snapshot_becomes_the_function_s_and_retires_the_one_before()
    {
        using var service = Service();
        var sha = service.Register("adoptee", File.ReadAllBytes(GuestBuild.ElfPath("hello-world")), Mib, "").ElfSha256;
        service.AdoptSnapshot("adoptee", Staged(sha, "first"));
        string before;
        using (var first = service.OpenSnapshot("adoptee"))
            before = first.MemoryPath;

        var record = service.AdoptSnapshot("adoptee", Staged(sha, "second"));

        Assert.Equal(record.SnapshotId, service.Get("adoptee").Snapshot?.SnapshotId);
        using var snapshot = service.OpenSnapshot("adoptee");
        Assert.Equal("second", HandmadeSnapshot.MarkOf(snapshot.MemoryPath));
        Assert.False(File.Exists(before));
        service.VerifySnapshot("adoptee");
    }

    [Fact]
    public void A_snapshot_of_other_code_is_refused_and_the_function_keeps_its_own()
    {
        using var service = Service();
        var sha = service.Register("adoptee", File.ReadAllBytes(GuestBuild.ElfPath("hello-world")), Mib, "").ElfSha256;
        service.AdoptSnapshot("adoptee", Staged(sha, "mine"));
        var other = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(GuestBuild.ElfPath("echo"))));

        var e = Assert.Throws<SnapshotInvalidException>(() => service.AdoptSnapshot("adoptee", Staged(other, "theirs")));

        Assert.Contains("taken from other code", e.Message, StringComparison.Ordinal);
        using var snapshot = service.OpenSnapshot("adoptee");
        Assert.Equal("mine", HandmadeSnapshot.MarkOf(snapshot.MemoryPath));
    }

    [Theory]
    [InlineData("other-fn", Mib, "is of function 'other-fn'")]
    [InlineData("adoptee", 2 * Mib, "not the 512 MiB it was published with")]
    public void A_snapshot_of_another_function_or_size_is_refused_before_anything_moves(string function, int memoryMib, string says)
    {
        using var service = Service();
        var sha = service.Register("adoptee", File.ReadAllBytes(GuestBuild.ElfPath("hello-world")), memoryMib, "").ElfSha256;
        var staged = Staged(sha, "x", memoryMib, function);

        var e = Assert.Throws<SnapshotInvalidException>(() => service.AdoptSnapshot("adoptee", staged));

        Assert.Contains(says, e.Message, StringComparison.Ordinal);
        Assert.True(File.Exists(staged.MemoryPath));
        Assert.Null(service.Get("adoptee").Snapshot);
    }

    [Fact]
    public void A_recording_of_a_mode_that_records_nothing_is_refused_before_anything_moves()
    {
        using var service = Service();
        var sha = service.Register("adoptee", File.ReadAllBytes(GuestBuild.ElfPath("hello-world")), Mib, "").ElfSha256;
        var staged = Staged(sha, "x") with { Recordings = [new AdoptedRecording("vanilla", "/nonexistent", 1, 1, DateTimeOffset.UtcNow)] };

        var e = Assert.Throws<InvalidRequestException>(() => service.AdoptSnapshot("adoptee", staged));

        Assert.Contains("cannot adopt a recording of mode 'vanilla'", e.Message, StringComparison.Ordinal);
        Assert.True(File.Exists(staged.MemoryPath));
        Assert.Null(service.Get("adoptee").Snapshot);
    }
}

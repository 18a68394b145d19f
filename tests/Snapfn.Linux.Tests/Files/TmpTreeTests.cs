using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using Snapfn.Interop;
using Snapfn.Linux.Files;
using Kind = Snapfn.Linux.ProcessState.TmpEntryKind;
using TmpEntry = Snapfn.Linux.ProcessState.TmpEntry;

namespace Snapfn.Linux.Tests.Files;

/// <summary>
/// A VM's /tmp as a snapshot takes and gives it back, attacked from the host side (no KVM needed): a host
/// folder with a random token sits beside the VM's /tmp, the /tmp holds links to it, FIFOs, sockets and hard
/// links, and crafted snapshot entries try to write through links and '..'. The token must never be read into a
/// snapshot, written, re-created or have its mode changed.
/// </summary>
public sealed class TmpTreeTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("snapfn-tmptree-");
    private readonly string _token = Convert.ToHexString(RandomNumberGenerator.GetBytes(16));
    private readonly string _outside;
    private readonly string _tokenPath;
    private readonly string _tmp;

    public TmpTreeTests()
    {
        _outside = Directory.CreateDirectory(Path.Combine(_dir.FullName, "outside")).FullName;
        _tokenPath = Path.Combine(_outside, "token.txt");
        File.WriteAllText(_tokenPath, _token);
        File.SetUnixFileMode(_tokenPath, UnixFileMode.UserRead);
        File.WriteAllText(Path.Combine(_outside, "deleted.txt"), _token);
        _tmp = Directory.CreateDirectory(Path.Combine(_dir.FullName, "tmp")).FullName;
    }

    [Fact]
    public void Links_are_captured_as_links_and_nothing_behind_them_is_read()
    {
        PlantLinks();
        var entries = Capture(_tmp);

        Assert.Equal(["dir", "file", "own", "rel", "sub", "sub/f"], entries.Select(e => e.Path));
        Assert.Equal(_outside, Text(Single(entries, "dir", Kind.Symlink)));
        Assert.Equal(_tokenPath, Text(Single(entries, "file", Kind.Symlink)));
        Assert.Equal("../outside/token.txt", Text(Single(entries, "rel", Kind.Symlink)));
        Assert.Equal("mine", Text(Single(entries, "own", Kind.File)));
        Assert.DoesNotContain(entries, e => Text(e).Contains(_token, StringComparison.Ordinal));
    }

    [Fact]
    public void A_restore_puts_links_back_as_links_and_writes_nothing_through_them()
    {
        PlantLinks();
        var entries = Capture(_tmp);
        File.Delete(Path.Combine(_outside, "deleted.txt"));
        var before = Snapshot(_outside);

        var restored = Restore(entries);

        Assert.Equal(before, Snapshot(_outside));
        Assert.False(File.Exists(Path.Combine(_outside, "deleted.txt")));
        Assert.Equal(_outside, new FileInfo(Path.Combine(restored, "dir")).LinkTarget);
        Assert.Equal("../outside/token.txt", new FileInfo(Path.Combine(restored, "rel")).LinkTarget);
        Assert.Equal("mine", File.ReadAllText(Path.Combine(restored, "own")));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(restored, "own")));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserExecute, File.GetUnixFileMode(Path.Combine(restored, "sub")));
        Assert.Equal("in sub", File.ReadAllText(Path.Combine(restored, "sub", "f")));
    }

    [Fact]
    public void Owners_given_with_chown_and_modification_times_survive_a_snapshot()
    {
        Directory.CreateDirectory(Path.Combine(_tmp, "d"));
        File.WriteAllText(Path.Combine(_tmp, "d", "f"), "x");
        File.WriteAllText(Path.Combine(_tmp, "plain"), "y");
        File.CreateSymbolicLink(Path.Combine(_tmp, "l"), "d/f");
        var old = new DateTime(2001, 2, 3, 4, 5, 6, DateTimeKind.Utc).AddTicks(1234567);
        File.SetLastWriteTimeUtc(Path.Combine(_tmp, "d", "f"), old);
        Directory.SetLastWriteTimeUtc(Path.Combine(_tmp, "d"), old.AddDays(1));
        List<TmpEntry> entries;
        using (var root = OpenDirectory(_tmp))
        {
            var owners = Owners(root);
            Assert.Equal(0, Give(owners, root, "d/f", 1000, 1001));
            Assert.Equal(0, Give(owners, root, "d", 5, 6));
            Assert.Equal(0, Give(owners, root, "l", 7, 8));
            entries = TmpTree.Capture(root, owners, ProcessState.MaxTmpBytes, ProcessState.MaxTmpEntries);
        }
        Assert.Equal((1000u, 1001u), (Single(entries, "d/f", Kind.File).Uid, Single(entries, "d/f", Kind.File).Gid));
        Assert.Equal((0u, 0u), (Single(entries, "plain", Kind.File).Uid, Single(entries, "plain", Kind.File).Gid));

        var target = Directory.CreateDirectory(Path.Combine(_dir.FullName, "restored")).FullName;
        using var restored = OpenDirectory(target);
        var restoredOwners = Owners(restored);
        TmpTree.Restore(restored, restoredOwners, entries);

        Assert.Equal((1000u, 1001u), OwnerOf(restoredOwners, restored, "d/f"));
        Assert.Equal((5u, 6u), OwnerOf(restoredOwners, restored, "d"));
        Assert.Equal((7u, 8u), OwnerOf(restoredOwners, restored, "l"));
        Assert.Null(OwnerOf(restoredOwners, restored, "plain"));
        Assert.Equal(old, File.GetLastWriteTimeUtc(Path.Combine(target, "d", "f")));
        Assert.Equal(old.AddDays(1), Directory.GetLastWriteTimeUtc(Path.Combine(target, "d")));
    }

    /// <summary>chown as the layer does it, by the name's inode (not followed).</summary>
    private static int Give(FileOwners owners, SafeFd root, string path, uint uid, uint gid)
    {
        Assert.Equal(0, Libc.fstatat(root, CString.Of(path), out var st, Libc.AT_SYMLINK_NOFOLLOW));
        return owners.Set(root, CString.Of(path), 0, st.st_ino, uid, gid);
    }

    private static (uint, uint)? OwnerOf(FileOwners owners, SafeFd root, string path)
    {
        Assert.Equal(0, Libc.fstatat(root, CString.Of(path), out var st, Libc.AT_SYMLINK_NOFOLLOW));
        return owners.Of(root, CString.Of(path), st.st_ino);
    }

    [Fact]
    public void Clearing_tmp_removes_links_and_not_what_they_point_to()
    {
        PlantLinks();
        var before = Snapshot(_outside);
        using (var root = OpenDirectory(_tmp))
            TmpTree.Clear(root);
        Assert.Empty(Directory.EnumerateFileSystemEntries(_tmp));
        Assert.Equal(before, Snapshot(_outside));
    }

    public static TheoryData<string> CraftedSnapshots => new()
    {
        "dotdot", "dotdot-inside", "absolute", "empty", "empty-name", "nul", "through-a-link", "over-a-link",
        "directory-with-content", "empty-link", "unknown-kind", "owner-minus-one", "nanoseconds-out-of-range",
        "hard-link-to-a-link", "hard-link-through-a-link", "hard-link-before-its-file", "fifo-with-content",
    };

    private List<TmpEntry> Crafted(string name) => name switch
    {
        "dotdot" => [new("../outside/escape", Kind.File, 0x1a4, Bytes("x"))],
        "dotdot-inside" => [new("a", Kind.Directory, 0x1ed, []), new("a/../../outside/escape", Kind.File, 0x1a4, Bytes("x"))],
        "absolute" => [new(Path.Combine(_outside, "escape"), Kind.File, 0x1a4, Bytes("x"))],
        "empty" => [new("", Kind.File, 0x1a4, Bytes("x"))],
        "empty-name" => [new("a", Kind.Directory, 0x1ed, []), new("a//escape", Kind.File, 0x1a4, Bytes("x"))],
        "nul" => [new("escape\0x", Kind.File, 0x1a4, Bytes("x"))],
        // Names that pass the check; the restore itself must refuse to go through or over the link it made.
        "through-a-link" => [new("x", Kind.Symlink, 0x1ff, Bytes(_outside)), new("x/escape", Kind.File, 0x1a4, Bytes("x"))],
        "over-a-link" => [new("x", Kind.Symlink, 0x1ff, Bytes(_tokenPath)), new("x", Kind.File, 0x1ff, Bytes("overwritten"))],
        "directory-with-content" => [new("d", Kind.Directory, 0x1ed, Bytes("x"))],
        "empty-link" => [new("l", Kind.Symlink, 0x1ff, [])],
        "owner-minus-one" => [new("o", Kind.File, 0x1a4, Bytes("x")) { Uid = uint.MaxValue }],
        "nanoseconds-out-of-range" => [new("t", Kind.File, 0x1a4, Bytes("x")) { Modified = new() { tv_nsec = 1_000_000_000 } }],
        "hard-link-to-a-link" => [new("x", Kind.Symlink, 0x1ff, Bytes(_tokenPath)), new("h", Kind.HardLink, 0x1a4, Bytes("x"))],
        "hard-link-through-a-link" => [new("d", Kind.Symlink, 0x1ff, Bytes(_outside)), new("h", Kind.HardLink, 0x1a4, Bytes("d/token.txt"))],
        "hard-link-before-its-file" => [new("a", Kind.HardLink, 0x1a4, Bytes("b")), new("b", Kind.File, 0x1a4, Bytes("x"))],
        "fifo-with-content" => [new("p", Kind.Fifo, 0x1a4, Bytes("x"))],
        _ => [new("u", (Kind)7, 0x1a4, Bytes("x"))],
    };

    [Theory]
    [MemberData(nameof(CraftedSnapshots))]
    public void A_crafted_snapshot_tmp_is_refused_and_writes_nothing_outside(string name)
    {
        var before = Snapshot(_outside);
        var entries = Crafted(name);
        var error = Assert.Throws<ProcessRestoreException>(() => Restore(entries));
        Assert.Contains("the snapshot's /tmp", error.Message, StringComparison.Ordinal);
        Assert.Equal(before, Snapshot(_outside));
        Assert.Equal(UnixFileMode.UserRead, File.GetUnixFileMode(_tokenPath));
        Assert.Empty(Directory.EnumerateFileSystemEntries(_dir.FullName, "escape", SearchOption.AllDirectories));
    }

    [Fact]
    public void The_checks_on_a_snapshot_tmp_throw_invalid_data_for_the_state_reader()
    {
        Assert.Throws<InvalidDataException>(() => TmpTree.Check(Crafted("dotdot"), 1 << 20, 100));
        Assert.Throws<InvalidDataException>(() => TmpTree.Check([new("a", Kind.File, 0, new byte[11])], 10, 100));
        Assert.Throws<InvalidDataException>(() => TmpTree.Check([new("a", Kind.File, 0, []), new("b", Kind.File, 0, [])], 10, 1));
        TmpTree.Check(Crafted("through-a-link"), 1 << 20, 100);
    }

    [Fact]
    public void A_fifo_is_kept_as_a_fifo()
    {
        Run("mkfifo", "-m", "0640", Path.Combine(_tmp, "pipe"));
        var entry = Single(Capture(_tmp), "pipe", Kind.Fifo);
        Assert.Empty(entry.Content);

        using var root = OpenDirectory(Restore([entry]));

        Assert.Equal(0, Libc.fstatat(root, CString.Of("pipe"), out var st, Libc.AT_SYMLINK_NOFOLLOW));
        Assert.Equal(Libc.S_IFIFO | 0x1a0u, st.st_mode);
    }

    [Fact]
    public void Hard_links_within_tmp_are_kept_as_one_file_with_several_names()
    {
        Directory.CreateDirectory(Path.Combine(_tmp, "a"));
        File.WriteAllText(Path.Combine(_tmp, "z"), "shared");
        Run("ln", Path.Combine(_tmp, "z"), Path.Combine(_tmp, "a", "second"));
        Run("ln", Path.Combine(_tmp, "z"), Path.Combine(_tmp, "m"));
        var entries = Capture(_tmp);

        // the first name in path order holds the content, the others name it
        Assert.Equal("shared", Text(Single(entries, "a/second", Kind.File)));
        Assert.Equal("a/second", Text(Single(entries, "m", Kind.HardLink)));
        Assert.Equal("a/second", Text(Single(entries, "z", Kind.HardLink)));

        var restored = Restore(entries);
        using var root = OpenDirectory(restored);
        Assert.Equal(0, Libc.fstatat(root, CString.Of("z"), out var z, Libc.AT_SYMLINK_NOFOLLOW));
        Assert.Equal(0, Libc.fstatat(root, CString.Of("a/second"), out var second, Libc.AT_SYMLINK_NOFOLLOW));
        Assert.Equal((3ul, second.st_ino), (z.st_nlink, z.st_ino));
        Assert.Equal("shared", File.ReadAllText(Path.Combine(restored, "m")));
    }

    [Fact]
    public void A_socket_is_refused()
    {
        Directory.CreateDirectory(Path.Combine(_tmp, "run"));
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        socket.Bind(new UnixDomainSocketEndPoint(Path.Combine(_tmp, "run", "s")));
        var error = Assert.Throws<TmpSnapshotException>(() => Capture(_tmp));
        Assert.Contains("holds a socket at /tmp/run/s", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_hard_link_to_a_file_outside_is_refused_and_not_read()
    {
        Run("ln", _tokenPath, Path.Combine(_tmp, "hard"));
        var error = Assert.Throws<TmpSnapshotException>(() => Capture(_tmp));
        Assert.Contains("hard link", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(_token, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_sparse_file_over_the_snapshot_limit_is_refused_without_being_read()
    {
        using (var file = File.Create(Path.Combine(_tmp, "sparse")))
            file.SetLength(1L << 40);
        var error = Assert.Throws<TmpSnapshotException>(() => Capture(_tmp));
        Assert.Contains("more than 64 MiB", error.Message, StringComparison.Ordinal);
        Assert.Contains("/tmp/sparse", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Too_many_entries_are_refused()
    {
        for (var i = 0; i < 4; i++)
            File.WriteAllText(Path.Combine(_tmp, $"f{i}"), "");
        using var root = OpenDirectory(_tmp);
        var error = Assert.Throws<TmpSnapshotException>(() => TmpTree.Capture(root, Owners(root), ProcessState.MaxTmpBytes, 3));
        Assert.Contains("more than 3 files", error.Message, StringComparison.Ordinal);
    }

    private void PlantLinks()
    {
        File.CreateSymbolicLink(Path.Combine(_tmp, "dir"), _outside);
        File.CreateSymbolicLink(Path.Combine(_tmp, "file"), _tokenPath);
        File.CreateSymbolicLink(Path.Combine(_tmp, "rel"), "../outside/token.txt");
        File.WriteAllText(Path.Combine(_tmp, "own"), "mine");
        File.SetUnixFileMode(Path.Combine(_tmp, "own"), UnixFileMode.UserRead | UnixFileMode.UserWrite);
        Directory.CreateDirectory(Path.Combine(_tmp, "sub"));
        File.WriteAllText(Path.Combine(_tmp, "sub", "f"), "in sub");
        File.SetUnixFileMode(Path.Combine(_tmp, "sub"), UnixFileMode.UserRead | UnixFileMode.UserExecute);
    }

    private static List<TmpEntry> Capture(string directory)
    {
        using var root = OpenDirectory(directory);
        return TmpTree.Capture(root, Owners(root), ProcessState.MaxTmpBytes, ProcessState.MaxTmpEntries);
    }

    /// <summary>The owners of a fresh writable mount at <paramref name="root"/> (none given yet).</summary>
    private static FileOwners Owners(SafeFd root) => new WritableSpace(root, TmpQuota.Default).Owners;

    private string Restore(IReadOnlyList<TmpEntry> entries)
    {
        var target = Directory.CreateDirectory(Path.Combine(_dir.FullName, "restored-" + Guid.NewGuid().ToString("N"))).FullName;
        using var root = OpenDirectory(target);
        TmpTree.Restore(root, Owners(root), entries);
        return target;
    }

    /// <summary>Every file below <paramref name="directory"/> with its content and mode, links not followed.</summary>
    private static string Snapshot(string directory) => string.Join('\n',
        new DirectoryInfo(directory).EnumerateFileSystemInfos("*", SearchOption.AllDirectories).OrderBy(i => i.FullName, StringComparer.Ordinal)
            .Select(i => $"{i.FullName} {i.UnixFileMode} {i.LinkTarget} {(i is FileInfo { LinkTarget: null } f ? File.ReadAllText(f.FullName) : "")}"));

    private static SafeFd OpenDirectory(string path) =>
        new(SyscallException.Check(Libc.open(path, Libc.O_PATH | Libc.O_DIRECTORY | Libc.O_CLOEXEC, 0), "open"));

    private static TmpEntry Single(List<TmpEntry> entries, string path, Kind kind)
    {
        var entry = Assert.Single(entries, e => e.Path == path);
        Assert.Equal(kind, entry.Kind);
        return entry;
    }

    private static string Text(TmpEntry entry) => Encoding.UTF8.GetString(entry.Content);

    private static byte[] Bytes(string text) => Encoding.UTF8.GetBytes(text);

    private static void Run(string tool, params string[] arguments)
    {
        using var process = System.Diagnostics.Process.Start(tool, arguments);
        process.WaitForExit();
        Assert.Equal(0, process.ExitCode);
    }

    public void Dispose() => _dir.Delete(recursive: true);
}

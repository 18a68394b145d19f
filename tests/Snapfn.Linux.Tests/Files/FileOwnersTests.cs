using Snapfn.Interop;
using Snapfn.Linux.Abi;
using Snapfn.Linux.Files;

namespace Snapfn.Linux.Tests.Files;

/// <summary>The owners chown gives /tmp files (no KVM needed): kept by inode and handle, never passed to a new file that
/// gets a removed file's inode number, and bounded by the mount's entry quota.</summary>
public sealed class FileOwnersTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("snapfn-owners-");
    private readonly SafeFd _root;

    public FileOwnersTests() =>
        _root = new SafeFd(SyscallException.Check(Libc.open(_dir.FullName, Libc.O_PATH | Libc.O_DIRECTORY | Libc.O_CLOEXEC, 0), "open"));

    [Fact]
    public void A_new_file_with_a_removed_files_inode_number_is_roots()
    {
        var owners = new WritableSpace(_root, TmpQuota.Default).Owners;
        File.WriteAllText(Path.Combine(_dir.FullName, "old"), "");
        var inode = Inode("old");
        Assert.Equal(0, owners.Set(_root, CString.Of("old"), 0, inode, 1000, 1000));
        Assert.Equal((1000u, 1000u), owners.Of(_root, CString.Of("old"), inode));
        File.Delete(Path.Combine(_dir.FullName, "old"));

        // ext4 and tmpfs give a freed inode number to the next file at once; try a few in case another test took it
        string? reused = null;
        for (var i = 0; i < 64 && reused is null; i++)
        {
            File.WriteAllText(Path.Combine(_dir.FullName, $"new{i}"), "");
            if (Inode($"new{i}") == inode)
                reused = $"new{i}";
        }
        Assert.SkipWhen(reused is null, "the host's file system did not reuse the inode number; nothing to check");
        Assert.Null(owners.Of(_root, CString.Of(reused!), inode));
        var st = new Kernel.stat { st_ino = inode };
        using var fd = new SafeFd(SyscallException.Check(Libc.open(Path.Combine(_dir.FullName, reused!), Libc.O_PATH | Libc.O_CLOEXEC, 0), "open"));
        owners.Apply(fd, ref st);
        Assert.Equal((0u, 0u), (st.st_uid, st.st_gid));
    }

    [Fact]
    public void The_table_holds_at_most_the_entry_quota_and_drops_owners_of_files_gone()
    {
        var owners = new WritableSpace(_root, new TmpQuota(1 << 20, 3)).Owners;
        for (var i = 0; i < 3; i++)
        {
            File.WriteAllText(Path.Combine(_dir.FullName, $"f{i}"), "");
            Assert.Equal(0, owners.Set(_root, CString.Of($"f{i}"), 0, Inode($"f{i}"), 7, 7));
        }
        File.WriteAllText(Path.Combine(_dir.FullName, "more"), "");
        Assert.Equal(-Errno.ENOSPC, owners.Set(_root, CString.Of("more"), 0, Inode("more"), 7, 7));

        File.Delete(Path.Combine(_dir.FullName, "f0"));
        Assert.Equal(0, owners.Set(_root, CString.Of("more"), 0, Inode("more"), 7, 7));
        Assert.Equal(3, owners.Count);
        Assert.Equal((7u, 7u), owners.Of(_root, CString.Of("f1"), Inode("f1")));
        Assert.Equal((7u, 7u), owners.Of(_root, CString.Of("more"), Inode("more")));
    }

    [Fact]
    public void Giving_root_back_removes_the_entry()
    {
        var owners = new WritableSpace(_root, TmpQuota.Default).Owners;
        File.WriteAllText(Path.Combine(_dir.FullName, "f"), "");
        Assert.Equal(0, owners.Set(_root, CString.Of("f"), 0, Inode("f"), 3, 0));
        Assert.Equal(0, owners.Set(_root, CString.Of("f"), 0, Inode("f"), 0, 0));
        Assert.Equal(0, owners.Count);
        Assert.Null(owners.Of(_root, CString.Of("f"), Inode("f")));
    }

    private ulong Inode(string name)
    {
        Assert.Equal(0, Libc.fstatat(_root, CString.Of(name), out var st, Libc.AT_SYMLINK_NOFOLLOW));
        return st.st_ino;
    }

    public void Dispose()
    {
        _root.Dispose();
        _dir.Delete(recursive: true);
    }
}

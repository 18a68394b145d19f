using Snapfn.Interop;
using Snapfn.Linux.Abi;
using Snapfn.Linux.Files;

namespace Snapfn.Linux.Tests.Files;

/// <summary>
/// A VM's /tmp quota, driven through the file system the system calls use (no KVM needed): writes, sparse writes
/// at huge offsets, files unlinked while open and entry floods must all stop at the quota with ENOSPC, and what
/// the host's directory holds must stay under it.
/// </summary>
public sealed class TmpQuotaTests : IDisposable
{
    private const long Quota = 1 << 20;
    private const int Entries = 8;
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("snapfn-quota-");
    private readonly string _tmp;
    private readonly RootFileSystem _fs;

    public TmpQuotaTests()
    {
        var root = Directory.CreateDirectory(Path.Combine(_dir.FullName, "root")).FullName;
        Directory.CreateDirectory(Path.Combine(root, "tmp"));
        _tmp = Directory.CreateDirectory(Path.Combine(_dir.FullName, "tmp")).FullName;
        _fs = new RootFileSystem(root, [new RootMount("/tmp", _tmp, Writable: true) { Quota = new TmpQuota(Quota, Entries) }]);
    }

    [Fact]
    public void Writing_past_the_quota_gets_enospc_and_the_host_holds_no_more()
    {
        using var file = Create("/tmp/big");
        var (written, error) = Fill(file);
        Assert.Equal(-Errno.ENOSPC, error);
        Assert.InRange(written, Quota - (64 << 10), Quota);
        Assert.InRange(HostBytes(), 0, Quota);
    }

    [Fact]
    public void A_write_far_past_the_end_is_charged_its_blocks_not_its_offset()
    {
        using var file = Create("/tmp/sparse");
        Assert.Equal(1, file.WriteAt("x"u8, 1L << 40));
        // Past the host's largest file (ext4) the write is EFBIG; where the host allows it (tmpfs) it is sparse.
        Assert.True(file.WriteAt("x"u8, 1L << 62) is 1 or -Errno.EFBIG);
        Assert.InRange(HostBytes(), 1, 64 << 10);
        // The quota is nearly whole: a large write still fits.
        Assert.Equal(512 << 10, file.WriteAt(new byte[512 << 10], 0));
    }

    [Fact]
    public void A_file_unlinked_while_open_still_counts_until_it_is_closed()
    {
        var first = Create("/tmp/first");
        Assert.Equal(768 << 10, first.Write(new byte[768 << 10]));
        Assert.Equal(0, _fs.Unlink("/tmp/first", directory: false));
        using var second = Create("/tmp/second");
        var (written, error) = Fill(second);
        Assert.Equal(-Errno.ENOSPC, error);
        Assert.InRange(written, 0, 256 << 10);

        first.Dispose();
        Assert.Equal(512 << 10, second.Write(new byte[512 << 10]));
    }

    [Fact]
    public void A_file_with_two_names_counts_its_blocks_once()
    {
        using (var file = Create("/tmp/linked"))
            Assert.Equal(768 << 10, file.Write(new byte[768 << 10]));
        Assert.Equal(0, _fs.Link("/tmp/linked", "/tmp/other", followFrom: false));
        // Unlinking (what makes the space be counted again) a third file: the two names must not count 1.5 MiB.
        using (Create("/tmp/scratch")) { }
        Assert.Equal(0, _fs.Unlink("/tmp/scratch", directory: false));
        using var more = Create("/tmp/more");
        Assert.Equal(128 << 10, more.Write(new byte[128 << 10]));
    }

    [Fact]
    public void A_truncated_file_gives_its_space_back()
    {
        using var file = Create("/tmp/f");
        Assert.Equal(-Errno.ENOSPC, Fill(file).Error);
        Assert.Equal(0, file.Truncate(0));
        Assert.Equal(0, file.Seek(0, Kernel.SEEK_SET));
        Assert.Equal(512 << 10, file.Write(new byte[512 << 10]));
    }

    [Fact]
    public void Entries_past_the_quota_get_enospc_but_existing_files_still_open()
    {
        for (var i = 0; i < Entries; i++)
            Create($"/tmp/f{i}").Dispose();
        Assert.Null(_fs.Open("/tmp/one-more", Libc.O_RDWR | Libc.O_CREAT, 0x1a4, out var errno));
        Assert.Equal(Errno.ENOSPC, errno);
        Assert.Equal(-Errno.ENOSPC, _fs.MakeDirectory("/tmp/d", 0x1ed));
        Assert.Equal(-Errno.ENOSPC, _fs.Symlink("f0", "/tmp/l"));
        using (var existing = _fs.Open("/tmp/f0", Libc.O_RDWR | Libc.O_CREAT, 0x1a4, out errno))
            Assert.NotNull(existing);
        Assert.Equal(Entries, Directory.GetFileSystemEntries(_tmp).Length);

        Assert.Equal(0, _fs.Unlink("/tmp/f0", directory: false));
        Assert.Equal(0, _fs.MakeDirectory("/tmp/d", 0x1ed));
    }

    private OpenFile Create(string path) =>
        _fs.Open(path, Libc.O_RDWR | Libc.O_CREAT | Libc.O_TRUNC, 0x1a4, out var errno) ?? throw new InvalidOperationException($"open {path}: {Errno.Name(errno)}");

    /// <summary>Writes 64 KiB chunks until a write fails: the bytes written and the error (0 if twice the quota
    /// went in, which no quota allows).</summary>
    private static (long Written, long Error) Fill(OpenFile file)
    {
        var chunk = new byte[64 << 10];
        Array.Fill(chunk, (byte)1);
        long written = 0;
        while (written < 2 * Quota)
        {
            var n = file.Write(chunk);
            if (n < 0)
                return (written, n);
            written += n;
        }
        return (written, 0);
    }

    /// <summary>What the host's directory for /tmp holds: allocated bytes of its files.</summary>
    private unsafe long HostBytes()
    {
        long total = 0;
        foreach (var path in Directory.EnumerateFiles(_tmp, "*", SearchOption.AllDirectories))
        {
            Libc.stat_buf st;
            SyscallException.Check(Libc.stat(path, &st), "stat");
            total += st.st_blocks * 512;
        }
        return total;
    }

    public void Dispose()
    {
        _fs.Dispose();
        _dir.Delete(recursive: true);
    }
}

using System.Text;
using Snapfn.Linux.Abi;

namespace Snapfn.Linux.Tests.Syscalls;

/// <summary>Issue 24: chmod, utimensat and friends on /tmp (confined, never following a link on the host, never
/// setuid on the host), the fsync family, /etc/passwd and /etc/group, and /proc/self/{fd,status,maps}, without KVM.</summary>
public sealed class FileCallsTests : IDisposable
{
    private const ulong Read = 0, Close = 3, Pipe2 = 293, Openat = 257, Chmod = 90, Fchmod = 91, Fchmodat = 268, Newfstatat = 262,
        Utimensat = 280, Utimes = 235, Utime = 132, Fsync = 74, Fdatasync = 75, Syncfs = 306, Sync = 162, SyncFileRange = 277,
        Getdents64 = 217, Readlink = 89, Symlink = 88, Fadvise64 = 221;
    private const ulong AtFdcwd = unchecked((ulong)-100);
    private const int O_CREAT = 0x40, O_RDWR = 2, O_DIRECTORY = 0x10000, O_PATH = 0x200000, AT_SYMLINK_NOFOLLOW = 0x100;
    private const long UTIME_OMIT = (1L << 30) - 2;

    private readonly SyscallHarness _h = new();
    private readonly string _outside = Path.Combine(Path.GetTempPath(), "snapfn-outside-" + Guid.NewGuid().ToString("N"));

    private ulong Path0(string path) => _h.Text(_h.Scratch + 0x100, path);

    private long Open(string path, int flags, int mode = 0x1a4) => _h.Call(Openat, AtFdcwd, Path0(path), (ulong)flags, (ulong)mode);

    private Kernel.stat Stat(string path, bool follow = true)
    {
        Assert.Equal(0, _h.Call(Newfstatat, AtFdcwd, Path0(path), _h.Scratch + 0x800, follow ? 0UL : AT_SYMLINK_NOFOLLOW));
        return _h.Read<Kernel.stat>(_h.Scratch + 0x800);
    }

    private string HostTmp(string name) => Path.Combine(_h.Process.TmpDirectory, name);

    [Fact]
    public void Chmod_changes_permission_bits_of_tmp_files_only_and_never_sets_setuid_on_the_host()
    {
        var fd = (ulong)Open("/tmp/f", O_CREAT | O_RDWR);
        Assert.Equal(0, _h.Call(Chmod, Path0("/tmp/f"), 0xdff)); // 06777
        Assert.Equal(0x1ffU, Stat("/tmp/f").st_mode & 0xfff);
        Assert.Equal((UnixFileMode)0x1ff, File.GetUnixFileMode(HostTmp("f")));
        Assert.Equal(0, _h.Call(Fchmod, fd, 0x124));
        Assert.Equal(0x124U, Stat("/tmp/f").st_mode & 0xfff);
        Assert.Equal(0, _h.Call(Fchmodat, AtFdcwd, Path0("/tmp/f"), 0x180));
        Assert.Equal(0x180U, Stat("/tmp/f").st_mode & 0xfff);
        Assert.Equal(-Errno.EROFS, _h.Call(Chmod, Path0("/etc/hostname"), 0x1ff));
        Assert.Equal(-Errno.ENOENT, _h.Call(Chmod, Path0("/tmp/missing"), 0x1ff));
        Assert.Equal(-Errno.EPERM, _h.Call(Chmod, Path0("/tmp"), 0x1ff));
        Assert.Equal((UnixFileMode)0x1c0, File.GetUnixFileMode(_h.Process.TmpDirectory));
        Assert.Equal(-Errno.EROFS, _h.Call(Chmod, Path0("/dev/null"), 0x1ff));
        var path = (ulong)Open("/tmp/f", O_PATH);
        Assert.Equal(-Errno.EBADF, _h.Call(Fchmod, path, 0x1ff));
        var root = (ulong)Open("/etc/hostname", 0);
        Assert.Equal(-Errno.EROFS, _h.Call(Fchmod, root, 0x1ff));
        var tmp = Open("/tmp", O_DIRECTORY);
        Assert.True(tmp > 0, $"open /tmp: {tmp}");
        Assert.Equal(-Errno.EPERM, _h.Call(Fchmod, (ulong)tmp, 0x1ff));
    }

    [Fact]
    public void A_link_in_tmp_to_a_host_file_is_never_followed_on_the_host()
    {
        File.WriteAllText(_outside, "secret");
        File.SetUnixFileMode(_outside, (UnixFileMode)0x180);
        var before = File.GetLastWriteTimeUtc(_outside);
        Assert.Equal(0, _h.Call(Symlink, _h.Text(_h.Scratch + 0x400, _outside), Path0("/tmp/evil")));
        // Inside the VM the absolute target resolves within /tmp's own root: there is nothing there.
        Assert.Equal(-Errno.ENOENT, _h.Call(Chmod, Path0("/tmp/evil"), 0x1ff));
        _h.Write(_h.Scratch + 0x600, new Kernel.timespec { tv_sec = 1000 });
        _h.Write(_h.Scratch + 0x610, new Kernel.timespec { tv_sec = 1000 });
        Assert.Equal(-Errno.ENOENT, _h.Call(Utimensat, AtFdcwd, Path0("/tmp/evil"), _h.Scratch + 0x600, 0));
        Assert.Equal(0, _h.Call(Utimensat, AtFdcwd, Path0("/tmp/evil"), _h.Scratch + 0x600, AT_SYMLINK_NOFOLLOW));
        Assert.Equal(1000, Stat("/tmp/evil", follow: false).st_mtime); // the link itself
        Assert.Equal((UnixFileMode)0x180, File.GetUnixFileMode(_outside));
        Assert.Equal(before, File.GetLastWriteTimeUtc(_outside));
    }

    [Fact]
    public void Utimensat_and_the_older_calls_set_times_on_tmp_files()
    {
        var fd = (ulong)Open("/tmp/t", O_CREAT | O_RDWR);
        _h.Write(_h.Scratch + 0x600, new Kernel.timespec { tv_sec = 100, tv_nsec = 5 });
        _h.Write(_h.Scratch + 0x610, new Kernel.timespec { tv_sec = 200, tv_nsec = 7 });
        Assert.Equal(0, _h.Call(Utimensat, AtFdcwd, Path0("/tmp/t"), _h.Scratch + 0x600, 0));
        var st = Stat("/tmp/t");
        Assert.Equal((100L, 5L, 200L, 7L), (st.st_atime, st.st_atime_nsec, st.st_mtime, st.st_mtime_nsec));
        _h.Write(_h.Scratch + 0x600, new Kernel.timespec { tv_nsec = UTIME_OMIT });
        _h.Write(_h.Scratch + 0x610, new Kernel.timespec { tv_sec = 300 });
        Assert.Equal(0, _h.Call(Utimensat, fd, 0, _h.Scratch + 0x600, 0)); // the descriptor itself
        st = Stat("/tmp/t");
        Assert.Equal((100L, 300L), (st.st_atime, st.st_mtime));
        _h.Write(_h.Scratch + 0x600, new Kernel.timespec { tv_nsec = 1_000_000_000 });
        Assert.Equal(-Errno.EINVAL, _h.Call(Utimensat, AtFdcwd, Path0("/tmp/t"), _h.Scratch + 0x600, 0));
        Assert.Equal(-Errno.EINVAL, _h.Call(Utimensat, AtFdcwd, Path0("/tmp/t"), 0, 0x4));
        Assert.Equal(-Errno.EROFS, _h.Call(Utimensat, AtFdcwd, Path0("/etc/hostname"), 0, 0));
        Assert.Equal(-Errno.EFAULT, _h.Call(Utimensat, AtFdcwd, 0, 0, 0));

        _h.Write(_h.Scratch + 0x700, new Kernel.timeval { tv_sec = 400, tv_usec = 1 });
        _h.Write(_h.Scratch + 0x710, new Kernel.timeval { tv_sec = 500, tv_usec = 2 });
        Assert.Equal(0, _h.Call(Utimes, Path0("/tmp/t"), _h.Scratch + 0x700));
        st = Stat("/tmp/t");
        Assert.Equal((400L, 1000L, 500L, 2000L), (st.st_atime, st.st_atime_nsec, st.st_mtime, st.st_mtime_nsec));
        _h.Write(_h.Scratch + 0x700, new Kernel.timeval { tv_usec = 1_000_000 });
        Assert.Equal(-Errno.EINVAL, _h.Call(Utimes, Path0("/tmp/t"), _h.Scratch + 0x700));
        _h.Write(_h.Scratch + 0x780, 600L);
        _h.Write(_h.Scratch + 0x788, 700L);
        Assert.Equal(0, _h.Call(Utime, Path0("/tmp/t"), _h.Scratch + 0x780));
        Assert.Equal(700L, Stat("/tmp/t").st_mtime);
    }

    [Fact]
    public void The_fsync_family_syncs_host_files_and_refuses_what_cannot_be_synced()
    {
        var fd = (ulong)Open("/tmp/s", O_CREAT | O_RDWR);
        Assert.Equal(0, _h.Call(Fsync, fd));
        Assert.Equal(0, _h.Call(Fdatasync, fd));
        Assert.Equal(0, _h.Call(Syncfs, fd));
        Assert.Equal(0, _h.Call(Sync));
        Assert.Equal(0, _h.Call(SyncFileRange, fd, 0, 0, 2));
        Assert.Equal(-Errno.EINVAL, _h.Call(SyncFileRange, fd, 0, 0, 8));
        Assert.Equal(0, _h.Call(Fsync, (ulong)Open("/etc/hostname", 0)));
        Assert.Equal(-Errno.EBADF, _h.Call(Fsync, 99));
        Assert.Equal(0, _h.Call(Pipe2, _h.Scratch + 0x300, 0));
        var pipe = (ulong)_h.Read<int>(_h.Scratch + 0x300);
        Assert.Equal(-Errno.EINVAL, _h.Call(Fsync, pipe));
        Assert.Equal(-Errno.ESPIPE, _h.Call(SyncFileRange, pipe, 0, 0, 2));
        Assert.Equal(-Errno.ESPIPE, _h.Call(Fadvise64, pipe, 0, 0, 0));
        Assert.Equal(0, _h.Call(Fadvise64, fd, 0, 0, 4));
        Assert.Equal(-Errno.EINVAL, _h.Call(Fadvise64, fd, 0, 0, 9));
        Assert.Equal(-Errno.EBADF, _h.Call(Fsync, (ulong)Open("/tmp/s", O_PATH)));
    }

    private string ReadAll(string path)
    {
        var fd = Open(path, 0);
        Assert.True(fd >= 0, $"open {path}: {fd}");
        var text = new StringBuilder();
        long n;
        while ((n = _h.Call(Read, (ulong)fd, _h.Scratch + 0x10000, 4096)) > 0)
            text.Append(Encoding.UTF8.GetString(_h.Process.User.Readable(_h.Scratch + 0x10000, (ulong)n)));
        _h.Call(Close, (ulong)fd);
        return text.ToString();
    }

    [Fact]
    public void Etc_passwd_and_group_name_root_and_nobody()
    {
        Assert.StartsWith("root:x:0:0:root:/root:", ReadAll("/etc/passwd"), StringComparison.Ordinal);
        Assert.Contains("\nnobody:x:65534:65534:", ReadAll("/etc/passwd"), StringComparison.Ordinal);
        Assert.StartsWith("root:x:0:", ReadAll("/etc/group"), StringComparison.Ordinal);
        Assert.Contains("passwd: files", ReadAll("/etc/nsswitch.conf"), StringComparison.Ordinal);
        Assert.Equal(-Errno.EACCES, Open("/etc/passwd", O_RDWR));
    }

    private List<string> List(string path)
    {
        var fd = (ulong)Open(path, O_DIRECTORY);
        var names = new List<string>();
        long n;
        while ((n = _h.Call(Getdents64, fd, _h.Scratch + 0x20000, 256)) > 0)
        {
            var buffer = _h.Process.User.Readable(_h.Scratch + 0x20000, (ulong)n).ToArray();
            for (var at = 0; at < n;)
            {
                var length = BitConverter.ToUInt16(buffer, at + 16);
                var name = buffer.AsSpan(at + 19, length - 19);
                names.Add(Encoding.UTF8.GetString(name[..name.IndexOf((byte)0)]));
                at += length;
            }
        }
        Assert.Equal(0, n);
        _h.Call(Close, fd);
        return names;
    }

    [Fact]
    public void Proc_self_fd_lists_the_open_descriptors_and_links_to_what_they_are()
    {
        Assert.Equal(0, _h.Call(Pipe2, _h.Scratch + 0x300, 0));
        var read = _h.Read<int>(_h.Scratch + 0x300);
        var names = List("/proc/self/fd");
        Assert.Equal([".", "..", "0", "1", "2", "3", "4", "5"], names); // 5: the directory being read
        Assert.Equal(names, List("/dev/fd"));
        var n = _h.Call(Readlink, Path0($"/proc/self/fd/{read}"), _h.Scratch + 0x400, 100);
        Assert.StartsWith("pipe:[", Encoding.UTF8.GetString(_h.Process.User.Readable(_h.Scratch + 0x400, (ulong)n)), StringComparison.Ordinal);
        Assert.Equal(Kernel.S_IFIFO, Stat($"/proc/self/fd/{read}").st_mode & Kernel.S_IFMT);
        Assert.Equal(Kernel.S_IFLNK, Stat($"/proc/self/fd/{read}", follow: false).st_mode & Kernel.S_IFMT);
        Assert.Equal(Kernel.S_IFDIR, Stat("/proc/self/fd").st_mode & Kernel.S_IFMT);
        Assert.Equal(-Errno.ENOENT, _h.Call(Newfstatat, AtFdcwd, Path0("/proc/self/fd/77"), _h.Scratch + 0x800, 0));
        Assert.Contains("fd", List("/proc/self"));
        var f = Open("/tmp/x", O_CREAT | O_RDWR);
        Assert.True(Open($"/proc/self/fd/{f}", 0) > f); // a reopen by the path
    }

    [Fact]
    public void Proc_self_status_and_maps_describe_the_process()
    {
        _h.Write(_h.Scratch + 0x40, 1UL << 9);
        _h.Call(14, 0, _h.Scratch + 0x40, 0, 8); // block SIGUSR1
        var status = ReadAll("/proc/self/status");
        Assert.Contains("Pid:\t1\n", status, StringComparison.Ordinal);
        Assert.Contains("Uid:\t0\t0\t0\t0\n", status, StringComparison.Ordinal);
        Assert.Contains("Threads:\t1\n", status, StringComparison.Ordinal);
        Assert.Contains("SigBlk:\t0000000000000200\n", status, StringComparison.Ordinal);
        Assert.Matches(@"VmRSS:\s+[1-9][0-9]* kB", status);
        var maps = ReadAll("/proc/self/maps");
        var stack = _h.Process.Space.StackBottom;
        Assert.Contains($"{stack:x8}-{_h.Process.Space.StackTop:x8} rw-p 00000000 00:00 0", maps, StringComparison.Ordinal);
        Assert.Contains("[stack]\n", maps, StringComparison.Ordinal);
        Assert.Equal(_h.Process.Space.Mappings.Count, maps.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
    }

    public void Dispose()
    {
        _h.Dispose();
        File.Delete(_outside);
    }
}

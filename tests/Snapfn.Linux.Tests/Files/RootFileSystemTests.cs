using System.Text;
using Snapfn.Interop;
using Snapfn.Linux.Abi;
using Snapfn.Linux.Files;

namespace Snapfn.Linux.Tests.Files;

/// <summary>The root's confinement, checked on the host side (no KVM needed): every way out of the root named in
/// the issue must fail to reach the secret file planted outside it.</summary>
public sealed class RootFileSystemTests : IDisposable
{
    private const string Secret = "SNAPFN-SECRET\n";
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("snapfn-rootfs-");
    private readonly string _secretPath;
    private readonly RootFileSystem _fs;

    public RootFileSystemTests()
    {
        var root = Directory.CreateDirectory(Path.Combine(_dir.FullName, "root")).FullName;
        var tmp = Directory.CreateDirectory(Path.Combine(_dir.FullName, "tmp")).FullName;
        Directory.CreateDirectory(Path.Combine(root, "etc"));
        Directory.CreateDirectory(Path.Combine(root, "tmp"));
        File.WriteAllText(Path.Combine(root, "etc", "hostname"), "inside\n");
        _secretPath = Path.Combine(_dir.FullName, "secret");
        File.WriteAllText(_secretPath, Secret);
        File.CreateSymbolicLink(Path.Combine(root, "abs"), _secretPath);
        File.CreateSymbolicLink(Path.Combine(root, "rel"), "../../../../../../../../.." + _secretPath);
        File.CreateSymbolicLink(Path.Combine(root, "etc", "name"), "/etc/hostname");
        _fs = new RootFileSystem(root, [new RootMount("/tmp", tmp, Writable: true)]) { ExecutablePath = "/bin/prog" };
    }

    public static TheoryData<string> EscapePaths => new()
    {
        "/abs",
        "/rel",
        "/proc/self/root/secret",
        "/etc/shadow",
        "/tmp/../../../../secret",
    };

    [Theory]
    [MemberData(nameof(EscapePaths))]
    public void Paths_that_point_outside_the_root_do_not_reach_the_host(string path)
    {
        var file = _fs.Open(GuestPath.Combine("/", path), Libc.O_RDONLY, 0, out var errno);
        Assert.Null(file);
        Assert.Equal(Errno.ENOENT, errno);
    }

    /// <summary>A host open of a FIFO would block the VMM's thread until a host writer or reader came: a FIFO of /tmp
    /// must open (or fail) at once, whatever the flags, and be the layer's own pipe.</summary>
    [Fact]
    public void A_fifo_opens_at_once_as_the_layers_own_pipe_never_on_the_host()
    {
        Assert.Equal(0, _fs.MakeNode("/tmp/fifo", Kernel.S_IFIFO, 0x180));
        // Without the process's FIFOs (a caller that cannot serve one): ENXIO, at once, for either end.
        Assert.Null(_fs.Open("/tmp/fifo", Libc.O_RDONLY, 0, out var errno));
        Assert.Equal(Errno.ENXIO, errno);
        Assert.Null(_fs.Open("/tmp/fifo", Libc.O_WRONLY, 0, out errno));
        Assert.Equal(Errno.ENXIO, errno);

        _fs.Fifos = new NamedPipes(new PipeBuffers(1 << 20));
        Assert.Null(_fs.Open("/tmp/fifo", Libc.O_WRONLY, 0, out errno, waiter: 1));
        Assert.Equal(NamedPipes.MustWait, errno);
        using var reader = Assert.IsType<PipeEnd>(_fs.Open("/tmp/fifo", Libc.O_RDONLY | Libc.O_NONBLOCK, 0, out errno, waiter: 2));
        // The waiting writer's open is done once a reader came; its data reaches the reader.
        using var writer = Assert.IsType<PipeEnd>(_fs.Open("/tmp/fifo", Libc.O_WRONLY, 0, out errno, waiter: 1));
        Assert.Equal(2, writer.Write("hi"u8));
        var buffer = new byte[4];
        Assert.Equal(2, reader.Read(buffer));
        Assert.Equal(0, reader.Stat(out var st));
        Assert.Equal(Kernel.S_IFIFO, st.st_mode & Kernel.S_IFMT);
    }

    [Fact]
    public void A_directory_above_a_mount_point_exists_even_where_the_root_lacks_it()
    {
        var root = Directory.CreateDirectory(Path.Combine(_dir.FullName, "bare")).FullName;
        var shim = Directory.CreateDirectory(Path.Combine(_dir.FullName, "shim")).FullName;
        using var fs = new RootFileSystem(root, [new RootMount("/snapfn/node", shim, Writable: false)]);
        Assert.Equal(0, fs.Stat("/snapfn", followSymlinks: false, out var st));
        Assert.Equal(Kernel.S_IFDIR, st.st_mode & Kernel.S_IFMT);
        Assert.Equal(0, fs.Stat("/snapfn/node", followSymlinks: false, out st));
        // Only what holds a mount point: a sibling stays missing.
        Assert.Equal(-Errno.ENOENT, fs.Stat("/snapfx", followSymlinks: false, out _));
        Assert.Equal(-Errno.ENOENT, fs.Stat("/snapfn/python", followSymlinks: false, out _));
    }

    [Fact]
    public void The_host_path_of_the_secret_is_not_a_guest_path()
    {
        Assert.Null(_fs.Open(_secretPath, Libc.O_RDONLY, 0, out var errno));
        Assert.Equal(Errno.ENOENT, errno);
        Assert.Equal(-Errno.ENOENT, _fs.Stat(_secretPath, followSymlinks: true, out _));
    }

    [Fact]
    public void A_symlink_the_guest_makes_in_tmp_resolves_inside_tmp()
    {
        Assert.Equal(0, _fs.Symlink(_secretPath, "/tmp/link"));
        Assert.Equal(0, _fs.Symlink("/../../../../../../.." + _secretPath, "/tmp/link2"));
        Assert.Null(_fs.Open("/tmp/link", Libc.O_RDONLY, 0, out var errno));
        Assert.Equal(Errno.ENOENT, errno);
        Assert.Null(_fs.Open("/tmp/link2", Libc.O_RDONLY, 0, out errno));
        Assert.Equal(Errno.ENOENT, errno);
    }

    [Fact]
    public void Absolute_symlinks_inside_the_root_resolve_against_the_root()
    {
        using var file = _fs.Open("/etc/name", Libc.O_RDONLY, 0, out var errno);
        Assert.NotNull(file);
        var buffer = new byte[64];
        var n = file!.Read(buffer);
        Assert.Equal("inside\n", Encoding.UTF8.GetString(buffer, 0, (int)n));
    }

    [Fact]
    public void The_root_is_read_only_and_tmp_is_writable()
    {
        Assert.Null(_fs.Open("/etc/new", Libc.O_WRONLY | Libc.O_CREAT, 0x1a4, out var errno));
        Assert.Equal(Errno.EROFS, errno);
        Assert.Equal(-Errno.EROFS, _fs.MakeDirectory("/etc/d", 0x1ed));
        Assert.Equal(-Errno.EROFS, _fs.Unlink("/etc/hostname", directory: false));
        Assert.Equal(-Errno.EROFS, _fs.Access("/etc/hostname", 2));

        using (var file = _fs.Open("/tmp/a", Libc.O_RDWR | Libc.O_CREAT, 0x1a4, out errno))
        {
            Assert.NotNull(file);
            Assert.Equal(3, file!.Write("abc"u8));
        }
        Assert.Equal(0, _fs.Rename("/tmp/a", "/tmp/b"));
        Assert.Equal(-Errno.EXDEV, _fs.Rename("/tmp/b", "/etc/b"));
        Assert.Equal(0, _fs.Stat("/tmp/b", followSymlinks: true, out var st));
        Assert.Equal(3, st.st_size);
        Assert.Equal(0, _fs.Unlink("/tmp/b", directory: false));
        Assert.Equal(-Errno.EBUSY, _fs.Unlink("/tmp", directory: true));
    }

    [Fact]
    public void Proc_self_exe_is_a_link_to_the_program()
    {
        var buffer = new byte[64];
        var n = _fs.ReadLink("/proc/self/exe", buffer);
        Assert.Equal("/bin/prog", Encoding.UTF8.GetString(buffer, 0, (int)n));
        Assert.Equal(0, _fs.Stat("/proc/self/exe", followSymlinks: false, out var st));
        Assert.Equal(Kernel.S_IFLNK, st.st_mode & Kernel.S_IFMT);
        Assert.Equal(-Errno.EINVAL, _fs.ReadLink("/etc/hostname", buffer));
    }

    [Fact]
    public void Devices_are_synthesised()
    {
        using var random = _fs.Open("/dev/urandom", Libc.O_RDONLY, 0, out _);
        var a = new byte[32];
        var b = new byte[32];
        Assert.Equal(32, random!.Read(a));
        Assert.Equal(32, random.Read(b));
        Assert.NotEqual(a, b);
        using var zero = _fs.Open("/dev/zero", Libc.O_RDONLY, 0, out _);
        Array.Fill(a, (byte)7);
        zero!.Read(a);
        Assert.All(a, x => Assert.Equal(0, x));
        using var devnull = _fs.Open("/dev/null", Libc.O_WRONLY, 0, out _);
        Assert.Equal(0, devnull!.Read(a));
        Assert.Equal(3, devnull.Write("abc"u8));
    }

    [Fact]
    public void The_cpu_files_describe_one_cpu_and_are_read_only()
    {
        using var cpuinfo = _fs.Open("/proc/cpuinfo", Libc.O_RDONLY, 0, out _);
        var buffer = new byte[1 << 16];
        var text = Encoding.ASCII.GetString(buffer, 0, (int)cpuinfo!.Read(buffer));
        Assert.Single(text.Split('\n'), l => l.StartsWith("processor", StringComparison.Ordinal));
        Assert.Contains("processor\t: 0", text, StringComparison.Ordinal);
        using var possible = _fs.Open("/sys/devices/system/cpu/possible", Libc.O_RDONLY, 0, out _);
        Assert.Equal("0\n", Encoding.ASCII.GetString(buffer, 0, (int)possible!.Read(buffer)));
        Assert.Null(_fs.Open("/proc/cpuinfo", Libc.O_WRONLY, 0, out var errno));
        Assert.Equal(Errno.EACCES, errno);
        Assert.Equal(0, _fs.Stat("/sys/devices/system/cpu/online", followSymlinks: true, out var st));
        Assert.Equal(2, st.st_size);
    }

    public void Dispose()
    {
        _fs.Dispose();
        _dir.Delete(recursive: true);
    }
}

using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using Snapfn.Linux.Files;
using Snapfn.Linux.Tests.Roots;
using Snapfn.Tests;
using Snapfn.Vmm;

namespace Snapfn.Linux.Tests.Programs;

/// <summary>
/// A Python function that attacks the host through its own /tmp, as issue 18 found: links in init() to a host
/// folder holding a random token, to a host FIFO and to /dev/zero; a socket in /tmp; writes past the quota; a state
/// file whose /tmp names '..'. The token must stay unread, unchanged and not re-created; each case ends in an
/// error that says what to do or in ENOSPC inside the guest, never in a hang.
/// </summary>
public sealed class TmpAttackTests : IDisposable
{
    /// <summary>init() links into the host (argv[1] is the planted folder); each request answers what /tmp/dir is.</summary>
    private const string LinkingFunction = """
        import os, struct, sys
        host = sys.argv[1]
        os.symlink(host, '/tmp/dir')
        os.symlink(host + '/token.txt', '/tmp/file')
        os.symlink(host + '/fifo', '/tmp/fifo-link')
        os.symlink('/dev/zero', '/tmp/zero')
        os.mkdir('/tmp/own')
        open('/tmp/own/f', 'w').write('mine')
        open('/tmp/QQQQQQQQQQQQQQ', 'w').write('renamed by the crafted-state test')
        def readn(n):
            b = b''
            while len(b) < n:
                c = os.read(3, n - len(b))
                if not c:
                    raise SystemExit(0)
                b += c
            return b
        while True:
            length, flags = struct.unpack('<II', readn(8))
            readn(length)
            out = ('%s|%s|%s' % (os.path.islink('/tmp/dir'), os.readlink('/tmp/dir'), open('/tmp/own/f').read())).encode()
            os.write(3, struct.pack('<II', 0, len(out)) + out)
        """;

    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("snapfn-tmp-attack-");
    private readonly string _token = Convert.ToHexString(RandomNumberGenerator.GetBytes(16));
    private readonly string _host;

    public TmpAttackTests()
    {
        _host = Directory.CreateDirectory(Path.Combine(_dir.FullName, "host")).FullName;
        File.WriteAllText(Path.Combine(_host, "token.txt"), _token);
        File.SetUnixFileMode(Path.Combine(_host, "token.txt"), UnixFileMode.UserRead);
        File.WriteAllText(Path.Combine(_host, "deleted.txt"), _token);
        Run("mkfifo", Path.Combine(_host, "fifo"));
    }

    private ProcessOptions Options() => new()
    {
        RootDirectory = PythonRoot.Directory,
        Program = "/usr/bin/python3",
        Arguments = ["/usr/bin/python3", "-c", LinkingFunction, _host],
        VdsoPath = File.Exists(GuestProgram.VdsoPath) ? GuestProgram.VdsoPath : null,
        Function = true,
        RootFingerprint = PythonRoot.Root.Manifest.PackagesSha256,
        Vm = new MicroVmOptions { MemorySize = 256UL << 20, Timeout = TimeSpan.FromSeconds(30), Name = "tmp-attack" },
    };

    [Fact]
    public void Links_to_host_files_are_snapshotted_and_restored_as_links_and_never_followed()
    {
        GuestBuild.RequireKvm();
        var options = Options();
        using var original = LinuxProcess.Start(options);
        Assert.Equal(GuestStop.Ready, original.Vm.RunToReady().Stop);
        var vcpu = original.Vm.CaptureState();
        var bytes = CaptureWithin(original).Serialize();

        // Nothing behind a link went into the snapshot.
        Assert.Equal(-1, bytes.AsSpan().IndexOf(Encoding.UTF8.GetBytes(_token)));
        var state = ProcessState.Deserialize(bytes);
        Assert.Equal(["QQQQQQQQQQQQQQ", "dir", "fifo-link", "file", "own", "own/f", "zero"], state.Tmp.Select(e => e.Path).Order(StringComparer.Ordinal));
        Assert.Equal(_host, Encoding.UTF8.GetString(Assert.Single(state.Tmp, e => e.Path == "dir").Content));
        Assert.All(state.Tmp.Where(e => e.Path is "dir" or "file" or "fifo-link" or "zero"), e => Assert.Equal(ProcessState.TmpEntryKind.Symlink, e.Kind));

        File.Delete(Path.Combine(_host, "deleted.txt"));
        var before = HostState();
        for (var copy = 0; copy < 2; copy++)
        {
            var shell = VmShell.Create(options.Vm.MemorySize, "copy");
            var memory = new GuestMemory(shell.Memory);
            original.Vm.Memory.Span(0, options.Vm.MemorySize).CopyTo(memory.Span(0, options.Vm.MemorySize));
            using var restored = LinuxProcess.Restore(state, options, shell, memory, original.Vm.Layout, vcpu);
            // Inside the VM the link is still a link, with the text the program gave it.
            var run = restored.Vm.Invoke("x"u8);
            Assert.Equal($"True|{_host}|mine", Encoding.UTF8.GetString(restored.Vm.Output(run)));
            Assert.Equal(_host, new FileInfo(Path.Combine(restored.TmpDirectory, "dir")).LinkTarget);
        }
        // The host folder is as it was: the token unchanged with its mode, the deleted file not re-created.
        Assert.Equal(before, HostState());
        Assert.False(File.Exists(Path.Combine(_host, "deleted.txt")));
        Assert.Equal(UnixFileMode.UserRead, File.GetUnixFileMode(Path.Combine(_host, "token.txt")));
    }

    [Fact]
    public void A_socket_in_tmp_at_the_snapshot_point_is_refused_with_what_to_do()
    {
        GuestBuild.RequireKvm();
        using var process = LinuxProcess.Start(Options());
        process.Vm.RunToReady();
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        socket.Bind(new UnixDomainSocketEndPoint(Path.Combine(process.TmpDirectory, "own", "sock")));
        var error = Assert.Throws<TmpSnapshotException>(() => CaptureWithin(process));
        Assert.Equal(
            "the function's /tmp holds a socket at /tmp/own/sock: a snapshot keeps only regular files, directories, symbolic links " +
            "and FIFOs of /tmp; remove it in init(), before the function reads its first request", error.Message);
    }

    [Fact]
    public void A_state_file_whose_tmp_names_dotdot_is_refused()
    {
        GuestBuild.RequireKvm();
        using var process = LinuxProcess.Start(Options());
        process.Vm.RunToReady();
        var bytes = CaptureWithin(process).Serialize();
        var at = bytes.AsSpan().IndexOf("QQQQQQQQQQQQQQ"u8);
        Assert.True(at >= 0);
        "../../../pwned"u8.CopyTo(bytes.AsSpan(at));
        var error = Assert.Throws<InvalidDataException>(() => ProcessState.Deserialize(bytes));
        Assert.Contains("'../../../pwned'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Writing_past_the_tmp_quota_gets_enospc_inside_the_guest()
    {
        const string script = """
            import os
            fd = os.open('/tmp/sparse', os.O_WRONLY | os.O_CREAT, 0o644)
            os.pwrite(fd, b'y', 1 << 40)
            try:
                os.pwrite(fd, b'y', 1 << 62)
                print('huge offset: written')
            except OSError as e:
                print('huge offset: errno', e.errno)
            print('sparse blocks', os.fstat(fd).st_blocks)
            fd = os.open('/tmp/big', os.O_WRONLY | os.O_CREAT, 0o644)
            total = 0
            try:
                while total < 64 << 20:
                    total += os.write(fd, b'x' * (1 << 20))
                print('data: no error after', total)
            except OSError as e:
                print('data: errno', e.errno, 'after', total)
            made = 0
            try:
                while made < 1000:
                    open('/tmp/f%d' % made, 'w').close()
                    made += 1
                print('entries: no error after', made)
            except OSError as e:
                print('entries: errno', e.errno, 'after', made)
            """;
        var output = GuestProgram.Run("/usr/bin/python3", ["-c", script], tmpQuota: new TmpQuota(8L << 20, 50), mountTests: false);
        Assert.True(output.Exit.Status == 0, output.ToString());
        var lines = output.Stdout.Split('\n');
        // Past the host file system's largest file (ext4) it is EFBIG; where the host allows it (tmpfs) it is a
        // sparse file. Either way the host holds a block or two, not 2^62 bytes.
        Assert.Single(lines, l => l is "huge offset: errno 27" or "huge offset: written");
        var blocks = long.Parse(Assert.Single(lines, l => l.StartsWith("sparse blocks ", StringComparison.Ordinal))["sparse blocks ".Length..],
            System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(blocks * 512, 1, 64 << 10);
        var data = Assert.Single(lines, l => l.StartsWith("data: ", StringComparison.Ordinal));
        Assert.StartsWith("data: errno 28 after ", data, StringComparison.Ordinal);
        Assert.InRange(long.Parse(data["data: errno 28 after ".Length..], System.Globalization.CultureInfo.InvariantCulture), 6L << 20, 8L << 20);
        // /tmp/sparse and /tmp/big are two of the 50 entries.
        var entries = Assert.Single(lines, l => l.StartsWith("entries: ", StringComparison.Ordinal));
        Assert.Equal("entries: errno 28 after 48", entries);
    }

    private static ProcessState CaptureWithin(LinuxProcess process)
    {
        // On a layer that follows links, this read would never end (the FIFO) or fill memory (/dev/zero): a
        // generous watchdog turns that into a failure rather than a hung test run.
        var capture = Task.Run(process.Capture);
        Assert.True(((IAsyncResult)capture).AsyncWaitHandle.WaitOne(TimeSpan.FromMinutes(2)), "capturing the process hung on its /tmp");
        return capture.GetAwaiter().GetResult(); // rethrows what Capture threw, as it is
    }

    /// <summary>The host folder's files with their content and mode, links not followed (the FIFO is not read).</summary>
    private string HostState() => string.Join('\n',
        new DirectoryInfo(_host).EnumerateFileSystemInfos().OrderBy(i => i.Name, StringComparer.Ordinal)
            .Select(i => $"{i.Name} {i.UnixFileMode} {(i.Name.EndsWith(".txt", StringComparison.Ordinal) ? File.ReadAllText(i.FullName) : "")}"));

    private static void Run(string tool, params string[] arguments)
    {
        using var process = System.Diagnostics.Process.Start(tool, arguments);
        process.WaitForExit();
        Assert.Equal(0, process.ExitCode);
    }

    public void Dispose() => _dir.Delete(recursive: true);
}

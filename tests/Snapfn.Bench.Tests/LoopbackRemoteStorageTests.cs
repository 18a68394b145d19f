using System.Diagnostics;
using System.Globalization;
using Snapfn.Bench.Remote;
using Snapfn.Interop;
using Snapfn.Snapshots;

namespace Snapfn.Bench.Tests;

/// <summary>
/// The loopback remote storage for real: sftp-server on a TCP port of 127.0.0.1, sshfs mounting through it. Needs
/// root and /dev/fuse, and deb.debian.org the first time (the tools' root is kept in the shared state folder); a
/// machine without them skips, saying which. Any other failure (the server, the mount, the check) fails.
/// </summary>
public sealed class LoopbackRemoteStorageTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("snapfn-remote-");

    public LoopbackRemoteStorageTests()
    {
        // Sessions (and their mount points) in a state folder of this test's own; the tools' root and the apt
        // lists shared, so that they are downloaded once.
        Directory.CreateDirectory(State);
        Directory.CreateDirectory(Export);
        var shared = SharedState;
        Directory.CreateDirectory(Path.Combine(shared, "roots"));
        Directory.CreateDirectory(Path.Combine(shared, "apt"));
        Directory.CreateSymbolicLink(Path.Combine(State, "roots"), Path.Combine(shared, "roots"));
        Directory.CreateSymbolicLink(Path.Combine(State, "apt"), Path.Combine(shared, "apt"));
    }

    private static string SharedState
    {
        get
        {
            var configured = Environment.GetEnvironmentVariable("SNAPFN_HOME");
            return !string.IsNullOrEmpty(configured)
                ? Path.GetFullPath(configured)
                : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".local", "share", "snapfn");
        }
    }

    private string State => Path.Combine(_dir.FullName, "state");

    private string Export => Path.Combine(_dir.FullName, "export");

    [Fact]
    public void The_export_is_served_both_ways_over_a_loopback_tcp_connection_and_dispose_leaves_nothing()
    {
        var storage = SetUpOrSkip();
        var mountPoint = storage.MountPoint;
        var tools = new[] { storage.ServerProcessId, storage.SshfsProcessId };
        byte[] throughMount = RandomBytes(1, (1 << 20) + 123), intoExport = RandomBytes(2, 300_000);
        try
        {
            var mount = MountTable.At(mountPoint);
            Assert.NotNull(mount);
            Assert.Equal("fuse.sshfs", mount.FileSystemType);
            Assert.Equal($"127.0.0.1:{Export}", mount.Source);
            Assert.Contains(storage.Port, EstablishedLoopbackPorts());

            File.WriteAllBytes(storage.PathOf("through-mount.bin"), throughMount);
            Assert.Equal(throughMount, File.ReadAllBytes(Path.Combine(Export, "through-mount.bin")));
            File.WriteAllBytes(Path.Combine(Export, "into-export.bin"), intoExport);
            Assert.Equal(intoExport, File.ReadAllBytes(storage.PathOf("into-export.bin")));
        }
        finally
        {
            storage.Dispose();
        }

        Assert.Null(MountTable.At(mountPoint));
        Assert.False(Directory.Exists(mountPoint));
        Assert.All(tools, pid => Assert.False(Directory.Exists($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}"), $"process {pid} is still running"));
        Assert.DoesNotContain(storage.Port, EstablishedLoopbackPorts());
        // Unmounting leaves the export's files where they are.
        Assert.Equal(throughMount, File.ReadAllBytes(Path.Combine(Export, "through-mount.bin")));
        Assert.Equal(intoExport, File.ReadAllBytes(Path.Combine(Export, "into-export.bin")));
    }

    [Fact]
    public void A_mount_busy_with_an_open_file_is_detached_and_the_file_stops_reading()
    {
        File.WriteAllBytes(Path.Combine(Export, "open.bin"), RandomBytes(4, 1 << 16));
        var storage = SetUpOrSkip();
        var mountPoint = storage.MountPoint;
        var tools = new[] { storage.ServerProcessId, storage.SshfsProcessId };
        using var open = File.OpenHandle(storage.PathOf("open.bin"));
        var buffer = new byte[4096];
        Assert.Equal(4096, RandomAccess.Read(open, buffer, 0));

        storage.Dispose();

        Assert.Null(MountTable.At(mountPoint));
        Assert.False(Directory.Exists(mountPoint));
        Assert.All(tools, pid => Assert.False(Directory.Exists($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}"), $"process {pid} is still running"));
        // Its cached pages dropped, the open file has nothing left to read from: the connection is gone.
        Assert.Equal(0, Libc.posix_fadvise(open, 0, 0, Libc.POSIX_FADV_DONTNEED));
        Assert.Throws<IOException>(() => RandomAccess.Read(open, buffer, 8192));
    }

    [Fact]
    public void Pages_read_through_the_mount_stay_cached_across_opens_until_dropped()
    {
        using var storage = SetUpOrSkip();
        var data = RandomBytes(3, 4 << 20);
        var exported = Path.Combine(Export, "cached.bin");
        using (var file = new FileStream(exported, FileMode.Create))
        {
            file.Write(data);
            file.Flush(flushToDisk: true);
        }
        var onMount = storage.PathOf("cached.bin");

        storage.DropCache(onMount);
        Assert.Equal((0L, data.Length / PageCache.PageSize), PageCache.Count(onMount));
        Assert.Equal(0, PageCache.Count(exported).Cached);
        Assert.Equal(data, File.ReadAllBytes(onMount));
        // Count opens the file anew: without auto_cache, FUSE would have dropped the pages at that open.
        Assert.Equal(data.Length / PageCache.PageSize, PageCache.Count(onMount).Cached);

        storage.DropCache(onMount);
        Assert.Equal(0, PageCache.Count(onMount).Cached);
        Assert.Equal(0, PageCache.Count(exported).Cached);
        Assert.Throws<ArgumentException>(() => storage.DropCache(exported));
    }

    [Fact]
    public void Measure_gives_positive_figures_for_both_storages_and_leaves_no_files()
    {
        using var storage = SetUpOrSkip();
        var options = new StorageMeasureOptions { LatencyReads = 64, LatencyFileBytes = 8 << 20, BandwidthFileBytes = 32 << 20, BandwidthRounds = 1 };
        var measured = storage.Measure(options, TestContext.Current.CancellationToken);

        foreach (var figures in new[] { measured.Remote, measured.Local })
        {
            Assert.True(figures.ColdReadMicroseconds > 0 && double.IsFinite(figures.ColdReadMicroseconds), $"cold read {figures.ColdReadMicroseconds} µs");
            Assert.True(figures.WarmReadMicroseconds > 0 && double.IsFinite(figures.WarmReadMicroseconds), $"warm read {figures.WarmReadMicroseconds} µs");
            Assert.True(figures.SequentialMegabytesPerSecond > 0 && double.IsFinite(figures.SequentialMegabytesPerSecond), $"{figures.SequentialMegabytesPerSecond} MB/s");
            Assert.Equal(0, figures.CachedPagesAfterDrop);
        }
        Assert.Empty(Directory.EnumerateFileSystemEntries(Export));
        Assert.Contains(measured.Lines(), l => l.Contains(storage.Port.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal));
    }

    [Fact]
    public void What_a_killed_run_left_mounted_and_running_is_cleaned_by_the_next_set_up()
    {
        using var owner = Process.Start(new ProcessStartInfo("sleep", "600") { UseShellExecute = false })!;
        var ownerIdentity = new ProcessIdentity(owner.Id, ProcessIdentity.StartTicksOf(owner.Id) ?? 0);
        LoopbackRemoteStorage abandoned;
        try
        {
            abandoned = SetUpOrSkip(ownerIdentity);
        }
        finally
        {
            owner.Kill();
            owner.WaitForExit();
        }
        // The owner is gone and never disposed the storage, as a bench killed with SIGKILL would leave it.
        var left = abandoned.MountPoint;
        var tools = new[] { abandoned.ServerProcessId, abandoned.SshfsProcessId };
        Assert.NotNull(MountTable.At(left));

        using (var next = SetUpOrSkip())
        {
            Assert.Null(MountTable.At(left));
            Assert.False(Directory.Exists(Path.GetDirectoryName(left)));
            Assert.All(tools, pid => Assert.False(Directory.Exists($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}"), $"process {pid} is still running"));
            Assert.NotNull(MountTable.At(next.MountPoint));
        }
        // Nothing is left for the abandoned storage's own Dispose to do, and it does not complain.
        abandoned.Dispose();
    }

    [Fact]
    public void The_mount_table_decodes_the_kernel_s_octal_escapes()
    {
        var entries = MountTable.Parse("127.0.0.1:/srv/my\\040export /mnt/a\\040b\\011c fuse.sshfs rw,nosuid 0 0\n/dev/vda / ext4 rw 0 0\n");
        Assert.Equal(2, entries.Count);
        Assert.Equal(new MountEntry("127.0.0.1:/srv/my export", "/mnt/a b\tc", "fuse.sshfs", "rw,nosuid"), entries[0]);
        Assert.Equal("/", entries[1].MountPoint);
    }

    [Fact]
    public void Latency_reads_go_to_distinct_aligned_pages_of_the_file()
    {
        var offsets = StorageProbe.RandomPages(1 << 20, 256, seed: 7);
        Assert.Equal(256, offsets.Distinct().Count());
        Assert.All(offsets, o => Assert.True(o % StorageProbe.ReadSize == 0 && o >= 0 && o + StorageProbe.ReadSize <= 1 << 20, $"offset {o}"));
        Assert.Throws<ArgumentOutOfRangeException>(() => StorageProbe.RandomPages(1 << 20, 257, seed: 7));
    }

    public void Dispose()
    {
        // A test that failed mid-way may have left a mount: a recursive delete would go through it.
        foreach (var mount in MountTable.Below(_dir.FullName))
            _ = Process.Start("umount", ["-l", mount.MountPoint])?.WaitForExit(5000);
        _dir.Delete(recursive: true);
    }

    /// <summary>Why the machine cannot run the storage, once a test found out: the others skip at once instead
    /// of each retrying a download that cannot succeed.</summary>
    private static volatile string? _unavailable;

    private LoopbackRemoteStorage SetUpOrSkip(ProcessIdentity? owner = null)
    {
        if (_unavailable is { } known)
            Assert.Skip(known);
        try
        {
            return owner is { } o
                ? LoopbackRemoteStorage.SetUp(State, Export, o, progress: null, TestContext.Current.CancellationToken)
                : LoopbackRemoteStorage.SetUp(State, Export, cancellationToken: TestContext.Current.CancellationToken);
        }
        catch (RemoteStorageException e) when (e.IsMachineUnsupported)
        {
            _unavailable = $"loopback remote storage unavailable: {e.Message}";
            Assert.Skip(_unavailable);
            throw;
        }
    }

    /// <summary>The ports at either end of the established TCP connections over 127.0.0.1 (/proc/net/tcp).</summary>
    private static HashSet<int> EstablishedLoopbackPorts()
    {
        const string Loopback = "0100007F";
        const string Established = "01";
        var ports = new HashSet<int>();
        foreach (var line in File.ReadLines("/proc/net/tcp").Skip(1))
        {
            var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length < 4 || fields[3] != Established)
                continue;
            foreach (var address in fields[1..3])
            {
                var parts = address.Split(':');
                if (parts[0] == Loopback)
                    ports.Add(int.Parse(parts[1], NumberStyles.HexNumber, CultureInfo.InvariantCulture));
            }
        }
        return ports;
    }

    private static byte[] RandomBytes(int seed, int length)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }
}

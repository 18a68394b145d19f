using System.Globalization;
using System.Text.RegularExpressions;
using Snapfn.Snapshots;

namespace Snapfn.Bench.Remote;

/// <summary>
/// A real network file system over this machine's loopback, for the experiment that keeps snapshot files on
/// remote storage: OpenSSH's sftp-server answers on a TCP port of 127.0.0.1 (socat listens on a port the kernel
/// picks, accepts one connection and execs sftp-server on that socket), and sshfs mounts the export through that
/// port (<c>-o directport</c>, no ssh and so no encryption: what is paid is the SFTP protocol, the TCP socket and
/// FUSE). The tools come from Debian (<see cref="RemoteTools"/>), nothing is installed on the host.
/// <see cref="Dispose"/> unmounts, stops both tools and removes the mount point; a set-up first cleans what an
/// earlier run that was killed left mounted or running under the same state folder.
/// </summary>
/// <remarks>
/// The mount's caching, chosen so that the page cache behaves as it does for a file on the local disk and only
/// the caller decides what is cold:
/// <list type="bullet">
/// <item><c>auto_cache</c>: a file's cached pages survive a close and a new open unless its size or mtime changed
/// (NFS's close-to-open). Without it (or <c>kernel_cache</c>) FUSE drops a file's whole page cache at every open, so
/// a run meant to find its files cached would silently read them over the network again. <c>kernel_cache</c>
/// keeps pages even when the file changed on the server, which could serve stale data.</item>
/// <item><c>dir_cache=no</c>: sshfs's own cache of names and attributes (20 s) is off, so a file written into
/// the export directly is seen through the mount at once; the kernel still keeps attributes for 1 s.</item>
/// <item><c>max_read</c> left at sshfs's 32 KiB, the read size every SFTP server must accept: a 128 KiB
/// read-ahead request from the kernel goes out as four pipelined SFTP reads, so this does not cap bandwidth at
/// one round trip per 32 KiB. 64–256 KiB read faster in some runs and not in others on a 2-vCPU machine, within
/// the noise: not worth leaving the default for.</item>
/// <item>No <c>direct_io</c> (it would bypass the page cache, and with it the mmap a restore uses), no sshfs
/// <c>reconnect</c> (a lost server fails the run instead of hiding it), the read-ahead of the kernel and of sshfs
/// left as they are.</item>
/// </list>
/// POSIX_FADV_DONTNEED on a file on the mount evicts its pages (FUSE files use the ordinary page cache); the
/// export's copy sits in this machine's page cache too — the server's cache — and <see cref="DropCache"/> drops
/// both, so that a cold read pays the network and the disk.
/// <para>Trust: the port takes one connection without authentication, and the first local process to connect gets
/// root's sftp-server. The window runs from socat's listen to sshfs's connect (milliseconds); had another process
/// taken it, sshfs finds no listener, the set-up fails and kills the server. The mount is root's alone (no
/// <c>allow_other</c>). A machine shared with untrusted users needs sshd and a key instead.</para>
/// </remarks>
public sealed partial class LoopbackRemoteStorage : IDisposable
{
    /// <summary>The sshfs options beside <c>directport</c>; see the remarks for why.</summary>
    public const string MountOptions = "auto_cache,dir_cache=no";

    private static readonly TimeSpan _startTimeout = TimeSpan.FromSeconds(15);
    private static readonly TimeSpan _exitTimeout = TimeSpan.FromSeconds(5);

    private readonly RemoteTools _tools;
    private readonly RemoteSession _session;
    private ToolChild? _server;
    private ToolChild? _sshfs;
    private bool _mounted;
    private int _disposed;

    private LoopbackRemoteStorage(RemoteTools tools, RemoteSession session, string exportDirectory)
    {
        _tools = tools;
        _session = session;
        ExportDirectory = exportDirectory;
    }

    /// <summary>The directory the server serves (on the local disk).</summary>
    public string ExportDirectory { get; }

    /// <summary>Where the export is mounted over TCP: files the experiment puts on remote storage go here.</summary>
    public string MountPoint => _session.MountPoint;

    public int Port { get; private set; }

    public int ServerProcessId => _server?.Id ?? 0;

    public int SshfsProcessId => _sshfs?.Id ?? 0;

    /// <summary>What is mounted where, for the report.</summary>
    public string Description => $"sshfs 127.0.0.1:{ExportDirectory} on {MountPoint} over TCP port {Port.ToString(CultureInfo.InvariantCulture)} (sftp-server via socat; -o {MountOptions})";

    /// <summary>
    /// Sets the storage up, or returns null with <paramref name="skipReason"/> saying what is missing (no
    /// /dev/fuse, not root, the packages could not be downloaded, the server or the mount failed, with the
    /// tool's last lines). Cancellation is not a skip: it throws.
    /// </summary>
    public static LoopbackRemoteStorage? TrySetUp(string stateDirectory, string exportDirectory, out string skipReason,
        Action<string>? progress = null, CancellationToken cancellationToken = default)
    {
        try
        {
            var storage = SetUp(stateDirectory, exportDirectory, progress, cancellationToken);
            skipReason = "";
            return storage;
        }
        catch (RemoteStorageException e)
        {
            skipReason = e.Message;
            return null;
        }
    }

    /// <summary>As <see cref="TrySetUp"/>, but a storage that cannot be set up throws.</summary>
    /// <exception cref="RemoteStorageException">What could not be set up, and why.</exception>
    public static LoopbackRemoteStorage SetUp(string stateDirectory, string exportDirectory, Action<string>? progress = null, CancellationToken cancellationToken = default) =>
        SetUp(stateDirectory, exportDirectory, ProcessIdentity.Self, progress, cancellationToken);

    /// <summary>For tests: a set-up owned by <paramref name="owner"/>, which the test can kill to leave the
    /// storage behind as a killed bench would.</summary>
    internal static LoopbackRemoteStorage SetUp(string stateDirectory, string exportDirectory, ProcessIdentity owner, Action<string>? progress, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(stateDirectory);
        ArgumentException.ThrowIfNullOrEmpty(exportDirectory);
        if (MissingPrerequisite() is { } missing)
            throw new RemoteStorageException(RemoteStorageStep.Machine, missing);
        var export = Path.TrimEndingDirectorySeparator(Path.GetFullPath(exportDirectory));
        Directory.CreateDirectory(export);
        var tools = RemoteTools.Ensure(stateDirectory, progress, cancellationToken);
        CleanStale(tools, stateDirectory, progress);

        var storage = new LoopbackRemoteStorage(tools, RemoteSession.Create(stateDirectory, owner), export);
        try
        {
            storage.StartServer(cancellationToken);
            storage.Mount(cancellationToken);
            storage.CheckBothWays();
            progress?.Invoke($"remote storage: {storage.Description}");
            return storage;
        }
        catch
        {
            storage.TearDown(throwIfLeft: false);
            throw;
        }
    }

    /// <summary>The path on the mount of <paramref name="relativePath"/> in the export.</summary>
    public string PathOf(string relativePath) => Path.Combine(MountPoint, relativePath);

    /// <summary>
    /// Drops the cached pages of a file on the mount (POSIX_FADV_DONTNEED) and of the same file in the export
    /// (the server's cache, on this machine), so that the next read crosses the network and reaches the disk.
    /// Like any drop, it leaves pages that are dirty or mapped by a process.
    /// </summary>
    public void DropCache(string pathOnMount)
    {
        var full = Path.GetFullPath(pathOnMount);
        var relative = Path.GetRelativePath(MountPoint, full);
        if (relative == ".." || relative.StartsWith("../", StringComparison.Ordinal) || Path.IsPathRooted(relative))
            throw new ArgumentException($"{pathOnMount} is not on the mount {MountPoint}", nameof(pathOnMount));
        PageCache.Drop(full);
        PageCache.Drop(Path.Combine(ExportDirectory, relative));
    }

    /// <summary>
    /// The storage's read latency and sequential bandwidth, cold, beside the local disk's (the export's file
    /// system) measured on the same two files the same way. The files are written into the export and removed
    /// afterwards.
    /// </summary>
    public RemoteStorageMeasurement Measure(StorageMeasureOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new StorageMeasureOptions();
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        var folder = $".snapfn-measure-{Guid.NewGuid().ToString("N")[..8]}";
        var local = Path.Combine(ExportDirectory, folder);
        try
        {
            StorageProbe.WriteFiles(local, options, out var latencyFile, out var bandwidthFile);
            var localFigures = StorageProbe.Measure(latencyFile, bandwidthFile, PageCache.Drop, options, cancellationToken);
            var remote = PathOf(folder);
            var remoteFigures = StorageProbe.Measure(Path.Combine(remote, Path.GetFileName(latencyFile)), Path.Combine(remote, Path.GetFileName(bandwidthFile)),
                DropCache, options, cancellationToken);
            return new RemoteStorageMeasurement(Description, remoteFigures, localFigures, options);
        }
        finally
        {
            if (Directory.Exists(local))
                Directory.Delete(local, recursive: true);
        }
    }

    /// <summary>Unmounts (lazily if the mount is busy), stops sshfs and the server, removes the mount point.</summary>
    /// <exception cref="RemoteStorageException">Something is still mounted or running: the message says what and how to remove it.</exception>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
            TearDown(throwIfLeft: true);
    }

    /// <summary>Null if this machine can run the storage, else what is missing.</summary>
    public static string? MissingPrerequisite()
    {
        if (!OperatingSystem.IsLinux())
            return "the loopback remote storage needs Linux (FUSE and sshfs)";
        if (!File.Exists("/dev/fuse"))
            return "no /dev/fuse: the kernel's FUSE is not loaded or the device is not in this container (modprobe fuse, or pass --device /dev/fuse)";
        if (!Environment.IsPrivilegedProcess)
            return "not root: sshfs mounts with mount(2) itself, which needs root (run the bench as root)";
        try
        {
            using var fuse = File.OpenHandle("/dev/fuse", FileMode.Open, FileAccess.ReadWrite);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return $"/dev/fuse cannot be opened ({e.Message}): a container may need --device /dev/fuse and CAP_SYS_ADMIN";
        }
        return null;
    }

    private void StartServer(CancellationToken cancellationToken)
    {
        // Port 0: the kernel picks a free port and socat says which (-d -d), so there is no window in which
        // another process could take a port chosen beforehand. One connection (no fork), and nofork puts
        // sftp-server straight on the accepted socket: no relay process between it and TCP. nodelay because SFTP
        // is request-reply: Nagle would hold a reply's tail for the peer's delayed ACK.
        _server = ToolChild.Start("socat", RemoteStorageStep.Server, _tools.StartInfo(_tools.Socat,
            ["-d", "-d", "TCP-LISTEN:0,bind=127.0.0.1,nodelay", $"EXEC:{RemoteTools.SftpServerCommand} -e,nofork"], ownSession: true),
            line => ListeningOn().IsMatch(line));
        _session.Record("server", new ProcessIdentity(_server.Id, _server.StartTicks));
        var listening = _server.WaitForLine(_startTimeout, cancellationToken);
        if (listening is null)
        {
            throw new RemoteStorageException(RemoteStorageStep.Server, _server.HasExited
                ? $"the SFTP server (socat) exited with {_server.ExitCode} before listening on 127.0.0.1: {_server.Tail()}"
                : $"the SFTP server (socat) did not listen on 127.0.0.1 within {_startTimeout.TotalSeconds:0} s: {_server.Tail()}");
        }
        Port = int.Parse(ListeningOn().Match(listening).Groups[1].Value, NumberStyles.None, CultureInfo.InvariantCulture);
    }

    private void Mount(CancellationToken cancellationToken)
    {
        // -f: sshfs stays this process's child, so its pid and its error output are ours to keep.
        _sshfs = ToolChild.Start("sshfs", RemoteStorageStep.Mount, _tools.StartInfo(_tools.Sshfs,
            ["-f", $"127.0.0.1:{ExportDirectory}", MountPoint, "-o", $"directport={Port.ToString(CultureInfo.InvariantCulture)},{MountOptions}"], ownSession: true));
        _session.Record("sshfs", new ProcessIdentity(_sshfs.Id, _sshfs.StartTicks));
        var deadline = DateTime.UtcNow + _startTimeout;
        while (MountTable.At(MountPoint) is not { FileSystemType: "fuse.sshfs" })
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (_sshfs.HasExited)
            {
                _sshfs.WaitForExit(_exitTimeout);
                throw new RemoteStorageException(RemoteStorageStep.Mount, $"sshfs could not mount 127.0.0.1:{ExportDirectory} on {MountPoint} (exit {_sshfs.ExitCode}): {_sshfs.Tail()}; the server said: {_server!.Tail()}");
            }
            if (DateTime.UtcNow > deadline)
                throw new RemoteStorageException(RemoteStorageStep.Mount, $"sshfs did not mount {MountPoint} within {_startTimeout.TotalSeconds:0} s: {_sshfs.Tail()}");
            Thread.Sleep(10);
        }
        _mounted = true;
    }

    /// <summary>A file written through the mount is in the export, and one written into the export is read
    /// through the mount: the mount really is the export, served.</summary>
    private void CheckBothWays()
    {
        var token = Guid.NewGuid().ToString("N");
        var throughMount = $".snapfn-check-{token}-mount";
        var intoExport = $".snapfn-check-{token}-export";
        try
        {
            File.WriteAllText(PathOf(throughMount), token + " via mount");
            var seen = File.Exists(Path.Combine(ExportDirectory, throughMount)) ? File.ReadAllText(Path.Combine(ExportDirectory, throughMount)) : null;
            if (seen != token + " via mount")
                throw new RemoteStorageException(RemoteStorageStep.Check, $"a file written to {PathOf(throughMount)} is {(seen is null ? "not in" : "different in")} the export {ExportDirectory}: the mount does not serve it");
            File.WriteAllText(Path.Combine(ExportDirectory, intoExport), token + " via export");
            var read = File.Exists(PathOf(intoExport)) ? File.ReadAllText(PathOf(intoExport)) : null;
            if (read != token + " via export")
                throw new RemoteStorageException(RemoteStorageStep.Check, $"a file written into the export {ExportDirectory} is {(read is null ? "not seen" : "read differently")} through {MountPoint}");
        }
        catch (IOException e)
        {
            throw new RemoteStorageException(RemoteStorageStep.Check, $"the mount {MountPoint} failed its check: {e.Message}; sshfs said: {_sshfs!.Tail()}", e);
        }
        finally
        {
            foreach (var name in new[] { throughMount, intoExport })
            {
                var path = Path.Combine(ExportDirectory, name);
                if (File.Exists(path))
                    File.Delete(path);
            }
        }
    }

    private void TearDown(bool throwIfLeft)
    {
        var left = new List<string>();
        var lazy = false;
        if (MountTable.At(MountPoint) is not null && Unmount(_tools, MountPoint, out lazy) is { } unmountError)
            left.Add(unmountError);
        if (_sshfs is not null)
        {
            // Unmounted, sshfs finds its FUSE connection gone and exits. Detached while files are still open, the
            // connection lives on with them: SIGKILL ends it, and those files' reads fail (ENOTCONN).
            if (!_sshfs.WaitForExit(lazy ? TimeSpan.FromMilliseconds(200) : _exitTimeout) && !_sshfs.Kill(_exitTimeout))
                left.Add($"sshfs (pid {_sshfs.Id}) did not stop");
            _sshfs.Dispose();
        }
        if (_server is not null)
        {
            // sftp-server exits when sshfs closes the connection; socat still listening never will.
            if (!(_mounted && _server.WaitForExit(_exitTimeout)) && !_server.Kill(_exitTimeout))
                left.Add($"the SFTP server (pid {_server.Id}) did not stop");
            _server.Dispose();
        }
        if (MountTable.At(MountPoint) is null && !RemoteSession.TryRemove(_session.Directory))
            left.Add($"could not remove {_session.Directory}");
        if (throwIfLeft && left.Count > 0)
            throw new RemoteStorageException(RemoteStorageStep.TearDown, $"the loopback remote storage was not torn down whole: {string.Join("; ", left)}. The next set-up under the same state folder retries; by hand: umount -l {MountPoint}");
    }

    /// <summary>
    /// Unmounts and stops what sessions whose owner is gone left behind (a bench killed with SIGKILL, or whose
    /// Dispose never ran): the mount first, which makes its sshfs exit, then whatever recorded process remains.
    /// A session whose owner still runs is another bench's, and is left alone.
    /// </summary>
    private static void CleanStale(RemoteTools tools, string stateDirectory, Action<string>? progress)
    {
        var sessions = RemoteSession.SessionsDirectory(stateDirectory);
        if (!Directory.Exists(sessions))
            return;
        var mounts = MountTable.Below(sessions);
        foreach (var directory in Directory.EnumerateDirectories(sessions))
        {
            if (RemoteSession.OwnerOf(directory) is not { } owner || owner.IsAlive)
                continue;
            progress?.Invoke($"remote storage: cleaning up after an earlier run that was stopped ({directory})");
            var prefix = directory + "/";
            foreach (var mount in mounts.Where(m => m.MountPoint.StartsWith(prefix, StringComparison.Ordinal)))
            {
                if (Unmount(tools, mount.MountPoint, out _) is { } error)
                    throw new RemoteStorageException(RemoteStorageStep.StaleCleanup, $"an earlier run left {mount.MountPoint} mounted and it cannot be unmounted: {error}");
            }
            foreach (var process in RemoteSession.Recorded(directory))
            {
                if (!process.Kill(_exitTimeout))
                    throw new RemoteStorageException(RemoteStorageStep.StaleCleanup, $"an earlier run left process {process.Id} running and it cannot be stopped");
            }
            RemoteSession.TryRemove(directory);
        }
    }

    /// <summary>Unmounts with fusermount3, lazily (MNT_DETACH, <paramref name="lazy"/>) if the mount is busy;
    /// null once it is gone, else what went wrong.</summary>
    private static string? Unmount(RemoteTools tools, string mountPoint, out bool lazy)
    {
        string? error = null;
        lazy = false;
        foreach (var detach in new[] { false, true })
        {
            lazy = detach;
            using var fusermount = ToolChild.Start("fusermount3", RemoteStorageStep.TearDown, tools.StartInfo(tools.Fusermount, detach ? ["-u", "-z", mountPoint] : ["-u", mountPoint], ownSession: false));
            if (!fusermount.WaitForExit(_exitTimeout))
            {
                fusermount.Kill(_exitTimeout);
                error = $"fusermount3 -u{(detach ? " -z" : "")} {mountPoint} did not finish";
            }
            else if (fusermount.ExitCode != 0)
            {
                error = $"fusermount3 -u{(detach ? " -z" : "")} {mountPoint} failed: {fusermount.Tail()}";
            }
            if (MountTable.At(mountPoint) is null)
                return null;
        }
        return error ?? $"{mountPoint} is still mounted";
    }

    /// <summary>socat -d -d: "N listening on AF=2 127.0.0.1:40123".</summary>
    [GeneratedRegex(@"listening on .*127\.0\.0\.1:(\d+)\s*$")]
    private static partial Regex ListeningOn();
}

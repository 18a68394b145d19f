using System.Globalization;

namespace Snapfn.Bench;

/// <summary>The block device a path lives on, as sysfs names it, and its read-ahead window.</summary>
public sealed record StorageDevice(string Name, string QueueDirectory)
{
    public string ReadAheadPath => Path.Combine(QueueDirectory, "read_ahead_kb");

    public int ReadAheadKb => int.Parse(File.ReadAllText(ReadAheadPath).Trim(), CultureInfo.InvariantCulture);
}

/// <summary>The settings a bench ran under, stated beside its results: where the snapshots were, that disk's
/// read-ahead during the runs, whether huge pages were turned off and whether memory files had their zeros
/// written out.</summary>
public sealed record MachineFacts(string Description, string? SnapshotDevice, int? ReadAheadKb, bool SmallPages, bool FullMemoryFiles = false)
{
    /// <summary>The facts now, for snapshots kept under <paramref name="snapshotsPath"/>.</summary>
    public static MachineFacts Now(string snapshotsPath, bool smallPages, bool fullMemoryFiles)
    {
        var device = MachineEffects.DeviceOf(snapshotsPath);
        return new MachineFacts(Describe(), device?.Name, device?.ReadAheadKb, smallPages, fullMemoryFiles);
    }

    public static string Describe() =>
        $"{Environment.ProcessorCount} cores, {GC.GetGCMemoryInfo().TotalAvailableMemoryBytes >> 30} GiB, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}, KVM: {(Directory.Exists("/sys/module/kvm_pvm") ? "PVM (kvm_pvm)" : "kvm")}";

    /// <summary>One line for a report.</summary>
    public string Line() => (SnapshotDevice is null
        ? $"{Description}; snapshots not on a block device sysfs knows (no read-ahead stated); huge pages {(SmallPages ? "off" : "as the kernel decides")}"
        : string.Create(CultureInfo.InvariantCulture,
            $"{Description}; snapshots on {SnapshotDevice}, read_ahead_kb {ReadAheadKb}; huge pages {(SmallPages ? "off (--small-pages)" : "as the kernel decides")}"))
        + (FullMemoryFiles ? "; memory files full (zero pages written out, --full-memory-file)" : "; memory files sparse (zero pages are holes)");
}

/// <summary>
/// Machine settings that move the comparison and that results must state: the read-ahead of the disk the
/// snapshots are on (Linux's default is 128 KiB; this machine's disk has 8 MiB, which pulls whole snapshots in
/// on the first fault) and whether file pages were mapped huge.
/// </summary>
public static class MachineEffects
{
    /// <summary>The device <paramref name="path"/> is on, or null where it is not a block device sysfs knows
    /// (tmpfs, overlay, FUSE).</summary>
    public static StorageDevice? DeviceOf(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var existing = Path.GetFullPath(path);
        while (!Path.Exists(existing))
            existing = Path.GetDirectoryName(existing) ?? "/";
        var (major, minor) = DeviceNumbers(existing);
        var block = $"/sys/dev/block/{major}:{minor}";
        if (!Directory.Exists(block))
            return null;
        var device = new DirectoryInfo(block).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? Path.GetFullPath(block);
        // A partition has no queue of its own: its disk's (the parent folder) applies.
        var queue = File.Exists(Path.Combine(device, "partition")) ? Path.Combine(Path.GetDirectoryName(device)!, "queue") : Path.Combine(device, "queue");
        return File.Exists(Path.Combine(queue, "read_ahead_kb")) ? new StorageDevice(Path.GetFileName(device), queue) : null;
    }

    /// <summary>Sets the read-ahead of <paramref name="device"/> to <paramref name="kb"/> until the result is
    /// disposed, which puts the old value back.</summary>
    public static IDisposable SetReadAhead(StorageDevice device, int kb)
    {
        ArgumentNullException.ThrowIfNull(device);
        if (kb < 0 || kb > 1 << 20)
            throw new ArgumentOutOfRangeException(nameof(kb), $"read-ahead of {kb} KiB is out of range (0 .. 1048576)");
        var old = device.ReadAheadKb;
        try
        {
            File.WriteAllText(device.ReadAheadPath, kb.ToString(CultureInfo.InvariantCulture));
        }
        catch (Exception e) when (e is UnauthorizedAccessException or IOException)
        {
            throw new IOException($"cannot set the read-ahead of {device.Name} ({device.ReadAheadPath}): {e.Message}; it needs root", e);
        }
        return new Restore(() => File.WriteAllText(device.ReadAheadPath, old.ToString(CultureInfo.InvariantCulture)));
    }

    private static (long Major, long Minor) DeviceNumbers(string path)
    {
        // /proc/self/mountinfo names each mount's device as major:minor; the longest mount point that holds the path wins.
        var best = "";
        var numbers = (0L, 0L);
        foreach (var line in File.ReadLines("/proc/self/mountinfo"))
        {
            var fields = line.Split(' ');
            if (fields.Length < 5)
                continue;
            var mountPoint = fields[4].Replace("\\040", " ", StringComparison.Ordinal);
            if (!IsUnder(path, mountPoint) || mountPoint.Length < best.Length)
                continue;
            var parts = fields[2].Split(':');
            best = mountPoint;
            numbers = (long.Parse(parts[0], CultureInfo.InvariantCulture), long.Parse(parts[1], CultureInfo.InvariantCulture));
        }
        return numbers;
    }

    private static bool IsUnder(string path, string mountPoint) =>
        mountPoint == "/" || path == mountPoint || path.StartsWith(mountPoint + "/", StringComparison.Ordinal);

    private sealed class Restore(Action undo) : IDisposable
    {
        private Action? _undo = undo;

        public void Dispose() => Interlocked.Exchange(ref _undo, null)?.Invoke();
    }
}

using System.Runtime.InteropServices;
using Snapfn.Interop;
using Snapfn.Vmm;

namespace Snapfn.Snapshots.Backends;

/// <summary>Opens snapshot files for mapping: the descriptor can be closed once mapped, the mapping keeps the file.</summary>
public static class SnapshotMapping
{
    /// <summary>Opens a file of a snapshot's folder, which Snapfn wrote there: never through a link in its place.</summary>
    public static SafeFd OpenReadOnly(string path)
    {
        var fd = Libc.open(path, Libc.O_RDONLY | Libc.O_CLOEXEC | Libc.O_NOFOLLOW, 0);
        if (fd < 0)
            SyscallException.Throw($"open({path})", Marshal.GetLastPInvokeError());
        return new SafeFd(fd);
    }

    /// <summary>Guest memory = the whole memory file, copy-on-write (Firecracker's way: pages arrive on demand).</summary>
    public static GuestMemory MapMemoryFile(Snapshot snapshot, MemoryMapping target)
    {
        CheckTarget(snapshot, target);
        using var fd = OpenReadOnly(snapshot.MemoryPath);
        target.MapFilePrivate(0, snapshot.State.MemorySize, fd, 0);
        return new GuestMemory(target);
    }

    public static void CheckTarget(Snapshot snapshot, MemoryMapping target)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        ArgumentNullException.ThrowIfNull(target);
        if (target.Length != snapshot.State.MemorySize)
            throw new ArgumentException($"a {target.Length >> 20} MiB shell cannot hold a {snapshot.State.MemorySize >> 20} MiB snapshot", nameof(target));
    }
}

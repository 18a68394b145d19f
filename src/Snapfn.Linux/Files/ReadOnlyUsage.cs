using System.Collections.Concurrent;
using Snapfn.Interop;

namespace Snapfn.Linux.Files;

/// <summary>
/// What a read-only mount (the root image, a function's code) holds: its allocated bytes, each inode once, and its
/// entries, for statfs. A read-only mount never changes, so it is counted once per host directory, the first time a
/// program asks, and kept for every VM of the daemon.
/// </summary>
internal sealed record ReadOnlyUsage(long Bytes, long Entries)
{
    private static readonly ConcurrentDictionary<string, ReadOnlyUsage> _counted = new(StringComparer.Ordinal);

    public static ReadOnlyUsage Of(string hostDirectory, SafeFd directory) =>
        _counted.GetOrAdd(hostDirectory, _ => Count(directory));

    private static ReadOnlyUsage Count(SafeFd directory)
    {
        long bytes = 0, entries = 1;
        var seen = new HashSet<(ulong, ulong)>();
        try
        {
            TmpTree.Walk(directory, node =>
            {
                entries++;
                if (node.Stat.st_nlink == 1 || seen.Add((node.Stat.st_dev, node.Stat.st_ino)))
                    bytes += node.Stat.st_blocks * 512;
            });
        }
        catch (SyscallException)
        {
            // A directory the walk cannot read: what was counted stands (a statfs must answer, never throw).
        }
        return new ReadOnlyUsage(bytes, entries);
    }
}

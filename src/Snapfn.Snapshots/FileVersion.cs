using Snapfn.Interop;

namespace Snapfn.Snapshots;

/// <summary>
/// One version of a file, as stat(2) tells it apart from another: device, inode, length and modification time to
/// the nanosecond. What a process may cache by: a file replaced by rename (how Snapfn writes snapshots,
/// recordings and functions) has a new inode, so even a rewrite within one tick of the file-system clock shows.
/// </summary>
public readonly record struct FileVersion(ulong Device, ulong Inode, long Length, long ModifiedSeconds, long ModifiedNanoseconds)
{
    /// <summary>The version of <paramref name="path"/> now, or null where there is no such file.</summary>
    public static unsafe FileVersion? Of(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        Libc.stat_buf buf;
        if (Libc.stat(path, &buf) < 0)
            return null;
        return new FileVersion(buf.st_dev, buf.st_ino, buf.st_size, buf.st_mtime_sec, buf.st_mtime_nsec);
    }
}

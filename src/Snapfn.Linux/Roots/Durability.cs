using Snapfn.Interop;

namespace Snapfn.Linux.Roots;

/// <summary>Makes a finished root survive a crash before its rename publishes it.</summary>
internal static class Durability
{
    /// <summary>Makes a rename in <paramref name="directory"/> durable.</summary>
    public static void FlushDirectory(string directory)
    {
        var fd = Libc.open(directory, Libc.O_RDONLY | Libc.O_CLOEXEC, 0);
        if (fd < 0)
            return;
        using var handle = new SafeFd(fd);
        _ = Libc.fsync(fd);
    }

    /// <summary>
    /// Flushes the file system holding <paramref name="path"/> (syncfs): one call instead of an fsync for each of
    /// a root's thousands of files. Best effort: a file system that cannot sync keeps whatever it keeps.
    /// </summary>
    public static void FlushFileSystem(string path, CancellationToken cancellationToken)
    {
        if (ToolProcess.Find("sync") is { } sync)
            _ = ToolProcess.Run(sync, ["--file-system", path], TimeSpan.FromMinutes(5), cancellationToken);
    }
}

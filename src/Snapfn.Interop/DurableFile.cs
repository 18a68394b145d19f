using Microsoft.Win32.SafeHandles;

namespace Snapfn.Interop;

/// <summary>Files that must survive a crash: written to a temporary name, flushed to disk, then renamed.</summary>
public static class DurableFile
{
    /// <summary>Atomically replaces <paramref name="path"/> with <paramref name="contents"/>.</summary>
    public static void Replace(string path, ReadOnlySpan<byte> contents)
    {
        ArgumentNullException.ThrowIfNull(path);
        var temporary = $"{path}.{Environment.ProcessId}.tmp";
        using (var file = File.OpenHandle(temporary, FileMode.Create, FileAccess.Write))
        {
            RandomAccess.Write(file, contents, 0);
            Flush(file, temporary);
        }
        File.Move(temporary, path, overwrite: true);
        FlushDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
    }

    public static void Flush(SafeFileHandle file, string path)
    {
        ArgumentNullException.ThrowIfNull(file);
        SyscallException.Check(Libc.fsync(file), $"fsync({path})");
    }

    /// <summary>Makes a rename in <paramref name="directory"/> durable.</summary>
    public static void FlushDirectory(string directory)
    {
        var fd = Libc.open(directory, Libc.O_RDONLY | Libc.O_CLOEXEC, 0);
        if (fd < 0)
            return;
        using var handle = new SafeFd(fd);
        _ = Libc.fsync(handle);
    }
}

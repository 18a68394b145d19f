namespace Snapfn.Linux.Roots;

/// <summary>
/// Host-side walks over a root's tree. Its symbolic links are written for the guest (/lib64/ld-linux-x86-64.so.2
/// points at /lib/...): followed on the host they lead into the host's own /usr, so nothing here follows them.
/// </summary>
internal static class RootTree
{
    private const int MaxSymlinks = 40;

    /// <summary>Every entry below <paramref name="directory"/>; symbolic links are returned, not entered.</summary>
    public static IEnumerable<FileSystemInfo> Entries(string directory)
    {
        var pending = new Stack<DirectoryInfo>();
        pending.Push(new DirectoryInfo(directory));
        while (pending.Count > 0)
        {
            foreach (var entry in pending.Pop().EnumerateFileSystemInfos())
            {
                yield return entry;
                if (entry is DirectoryInfo dir && !entry.Attributes.HasFlag(FileAttributes.ReparsePoint))
                    pending.Push(dir);
            }
        }
    }

    /// <summary>Bytes in the tree's regular files.</summary>
    public static long Size(string directory) =>
        Entries(directory).OfType<FileInfo>().Where(f => !f.Attributes.HasFlag(FileAttributes.ReparsePoint)).Sum(f => f.Length);

    /// <summary>True if <paramref name="link"/>, resolved on the host, leaves <paramref name="root"/> (an absolute target does).</summary>
    public static bool LeavesRoot(string root, FileSystemInfo link)
    {
        var target = link.LinkTarget;
        if (target is null)
            return false;
        if (Path.IsPathRooted(target))
            return true;
        var resolved = Path.GetFullPath(Path.Combine(Path.GetDirectoryName(link.FullName)!, target));
        return !resolved.StartsWith(Path.TrimEndingDirectorySeparator(root) + "/", StringComparison.Ordinal);
    }

    /// <summary>
    /// The host path of the guest path <paramref name="path"/>, resolving symbolic links as the guest would (an
    /// absolute target starts again at the root; ".." stops there); null if it does not exist in the root.
    /// </summary>
    public static string? Resolve(string root, string path)
    {
        root = Path.TrimEndingDirectorySeparator(Path.GetFullPath(root));
        var remaining = new LinkedList<string>(Split(path));
        var resolved = new List<string>();
        var links = 0;
        while (remaining.First is { } first)
        {
            remaining.RemoveFirst();
            var part = first.Value;
            if (part == ".")
                continue;
            if (part == "..")
            {
                if (resolved.Count > 0)
                    resolved.RemoveAt(resolved.Count - 1);
                continue;
            }
            var candidate = Host(root, [.. resolved, part]);
            var info = new FileInfo(candidate);
            if (info.LinkTarget is { } target)
            {
                if (++links > MaxSymlinks)
                    return null;
                if (target.StartsWith('/'))
                    resolved.Clear();
                foreach (var p in Split(target).Reverse())
                    remaining.AddFirst(p);
                continue;
            }
            if (!info.Exists && !Directory.Exists(candidate))
                return null;
            resolved.Add(part);
        }
        return Host(root, resolved);
    }

    private static string[] Split(string path) => path.Split('/', StringSplitOptions.RemoveEmptyEntries);

    private static string Host(string root, IEnumerable<string> parts) => string.Join('/', [root, .. parts]);
}

namespace Snapfn.Linux.Roots;

/// <summary>
/// Gives the root the merged-/usr layout of an installed Debian 12 system: /bin, /sbin and /lib* are symlinks to
/// their /usr counterparts. Bookworm's packages still ship files under /lib (libc6 does), which dpkg on a real
/// system puts through those symlinks; extracting packages one by one makes real directories instead, so they
/// are merged into /usr afterwards. Programs and tests then see the paths they would see on Debian.
/// </summary>
internal static class UsrMerge
{
    private static readonly string[] _merged = ["bin", "sbin", "lib", "lib32", "lib64", "libx32"];

    public static void Apply(string root)
    {
        var usr = Path.Combine(root, "usr");
        Directory.CreateDirectory(usr);
        foreach (var name in _merged)
        {
            var top = new DirectoryInfo(Path.Combine(root, name));
            if (!top.Exists || top.LinkTarget is not null)
                continue;
            var path = top.FullName;
            Merge(top, Path.Combine(usr, name), root);
            Directory.Delete(path);
            File.CreateSymbolicLink(path, "usr/" + name);
        }
    }

    /// <summary>Moves every entry of <paramref name="from"/> into <paramref name="to"/>; two files at one path are a
    /// conflict Debian's usrmerge does not allow either.</summary>
    private static void Merge(DirectoryInfo from, string to, string root)
    {
        if (!Directory.Exists(to) && !File.Exists(to))
        {
            // MoveTo re-points the DirectoryInfo at its new place; the caller deletes the (now empty) old one.
            var old = from.FullName;
            Directory.Move(old, to);
            Directory.CreateDirectory(old);
            return;
        }
        foreach (var entry in from.EnumerateFileSystemInfos())
        {
            var target = Path.Combine(to, entry.Name);
            var targetInfo = new FileInfo(target);
            var targetIsDirectory = Directory.Exists(target) && targetInfo.LinkTarget is null;
            if (entry is DirectoryInfo directory && entry.LinkTarget is null && targetIsDirectory)
            {
                var path = directory.FullName;
                Merge(directory, target, root);
                Directory.Delete(path);
            }
            else if (!targetInfo.Exists && !Directory.Exists(target) && targetInfo.LinkTarget is null)
            {
                // A rename: a directory moves whole, a symbolic link moves itself, never what it points to.
                if (entry is DirectoryInfo d)
                    d.MoveTo(target);
                else
                    ((FileInfo)entry).MoveTo(target);
            }
            else
            {
                throw new RootBuildException(
                    $"cannot merge /{Path.GetRelativePath(root, entry.FullName)} into /usr: the packages ship both it and /{Path.GetRelativePath(root, target)}");
            }
        }
    }
}

using System.Globalization;

namespace Snapfn.Bench.Remote;

/// <summary>
/// One set-up's folder, <c>&lt;state&gt;/remote/&lt;owner pid&gt;-&lt;owner start ticks&gt;-&lt;random&gt;</c>: the mount
/// point <c>mnt</c> and a <c>processes</c> file naming each tool started, written as soon as it is started. The
/// owner is in the folder's name, so that a later set-up can tell a session whose owner was killed (its mount and
/// tools left behind) from one another process is using, without reading anything the owner may not have written.
/// </summary>
internal sealed class RemoteSession
{
    public const string FolderName = "remote";
    private const string ProcessesFile = "processes";

    private RemoteSession(string directory)
    {
        Directory = directory;
    }

    public string Directory { get; }

    public string MountPoint => Path.Combine(Directory, "mnt");

    /// <summary>The sessions' folder with every symbolic link resolved: /proc/self/mounts names a mount point by
    /// its real path, and a session's mount is found there by prefix.</summary>
    public static string SessionsDirectory(string stateDirectory) => Path.Combine(RealPath(stateDirectory), FolderName);

    public static RemoteSession Create(string stateDirectory, ProcessIdentity owner)
    {
        var name = string.Create(CultureInfo.InvariantCulture, $"{owner.Id}-{owner.StartTicks}-{Guid.NewGuid().ToString("N")[..8]}");
        var session = new RemoteSession(Path.Combine(SessionsDirectory(stateDirectory), name));
        System.IO.Directory.CreateDirectory(session.MountPoint);
        return session;
    }

    public void Record(string name, ProcessIdentity process) =>
        File.AppendAllText(Path.Combine(Directory, ProcessesFile), $"{process} {name}\n");

    /// <summary>
    /// Removes the session's files and folders, never recursively: if <c>mnt</c> were still mounted, a recursive
    /// delete would go through the mount and delete the export's files. A folder that is still a mount point
    /// stays (rmdir fails with EBUSY), and the next set-up removes it.
    /// </summary>
    public static bool TryRemove(string directory)
    {
        try
        {
            var processes = Path.Combine(directory, ProcessesFile);
            if (File.Exists(processes))
                File.Delete(processes);
            var mount = Path.Combine(directory, "mnt");
            if (System.IO.Directory.Exists(mount))
                System.IO.Directory.Delete(mount, recursive: false);
            if (System.IO.Directory.Exists(directory))
                System.IO.Directory.Delete(directory, recursive: false);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>The processes a session recorded, those its file names well enough to identify.</summary>
    public static IReadOnlyList<ProcessIdentity> Recorded(string directory)
    {
        var path = Path.Combine(directory, ProcessesFile);
        if (!File.Exists(path))
            return [];
        return File.ReadAllLines(path).Select(ProcessIdentity.Parse).OfType<ProcessIdentity>().ToList();
    }

    /// <summary>realpath(3) for the parts of <paramref name="path"/> that exist; the rest is kept as written.</summary>
    internal static string RealPath(string path, int depth = 0)
    {
        if (depth > 40)
            throw new IOException($"{path}: too many levels of symbolic links");
        var resolved = "/";
        foreach (var part in Path.GetFullPath(path).Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            var next = Path.Combine(resolved, part);
            var info = new FileInfo(next);
            if (info.Exists || System.IO.Directory.Exists(next))
            {
                if (info.LinkTarget is { } target)
                    next = RealPath(Path.IsPathRooted(target) ? target : Path.Combine(resolved, target), depth + 1);
            }
            resolved = next;
        }
        return resolved;
    }

    /// <summary>The owner named by a session folder's name, or null if the name is not a session's.</summary>
    public static ProcessIdentity? OwnerOf(string directory)
    {
        var parts = Path.GetFileName(directory).Split('-');
        return parts.Length == 3 ? ProcessIdentity.Parse($"{parts[0]} {parts[1]}") : null;
    }
}

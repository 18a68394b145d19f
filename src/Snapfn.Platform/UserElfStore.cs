using Snapfn.Interop;
using Snapfn.Snapshots;

namespace Snapfn.Platform;

/// <summary>
/// User functions' code under $SNAPFN_HOME/user-functions/NAME/: an ELF as SHA256.elf, a Python function's
/// folder as SHA256/. Named by content, so a redeploy writes beside the version a running invocation may still
/// be reading; the old one is removed after the registry points at the new one, and not before the invocations
/// that hold a lease on it (<see cref="Leases"/>) have ended.
/// </summary>
public sealed class UserElfStore
{
    // Deleted functions whose folder waits for a version still leased (a background recording, an invocation): the
    // folder goes with that version's deferred deletion. The lock makes "is it still deleted? then delete the empty
    // folder" one step against a deploy of the same name taking the folder back.
    private readonly HashSet<string> _orphaned = new(StringComparer.Ordinal);
    private readonly Lock _folders = new();

    public UserElfStore(SnapfnHome home)
    {
        ArgumentNullException.ThrowIfNull(home);
        Root = Path.Combine(home.Path, "user-functions");
        Leases = new FileLeases(DeleteVersion);
    }

    public string Root { get; }

    /// <summary>The versions invocations are running on; pruning defers to them.</summary>
    public FileLeases Leases { get; }

    public string PathOf(string function, string sha256) => Path.Combine(Folder(function), sha256 + ".elf");

    /// <summary>Where <see cref="StoreScript"/> puts a script function's folder.</summary>
    public string ScriptPathOf(string function, string sha256) => Path.Combine(Folder(function), sha256);

    /// <summary>Writes the ELF durably (flushed, renamed into place) and returns its path.</summary>
    public string Store(string function, string sha256, byte[] elf)
    {
        var path = PathOf(function, sha256);
        Adopt(function);
        Directory.CreateDirectory(Folder(function));
        DurableFile.Replace(path, elf);
        return path;
    }

    /// <summary>Unpacks a script function's package into SHA256/ (files flushed, then the folder renamed into place)
    /// and returns the folder.</summary>
    public string StoreScript(string function, string sha256, byte[] package, DeployLimits limits)
    {
        var path = ScriptPathOf(function, sha256);
        Adopt(function);
        if (Directory.Exists(path))
            return path;
        var temporary = Path.Combine(Folder(function), $".tmp-{Guid.NewGuid():N}");
        try
        {
            FunctionPackage.Unpack(package, temporary, limits);
            foreach (var file in Directory.EnumerateFiles(temporary, "*", SearchOption.AllDirectories))
            {
                using var handle = File.OpenHandle(file, FileMode.Open, FileAccess.ReadWrite);
                DurableFile.Flush(handle, file);
            }
            Directory.Move(temporary, path);
            DurableFile.FlushDirectory(Folder(function));
        }
        finally
        {
            if (Directory.Exists(temporary))
                Directory.Delete(temporary, recursive: true);
        }
        return path;
    }

    /// <summary>Retires every stored version of <paramref name="function"/> except <paramref name="keep"/> (all when
    /// null): each is deleted now, or when the last invocation holding a lease on it ends.</summary>
    public void Prune(string function, string? keep)
    {
        var folder = Folder(function);
        if (!Directory.Exists(folder))
            return;
        // By name: the registry's path to the current version may be spelt from another $SNAPFN_HOME path.
        var kept = keep is null ? null : Path.GetFileName(Path.TrimEndingDirectorySeparator(keep));
        var all = Directory.EnumerateFiles(folder).Concat(Directory.EnumerateDirectories(folder)).ToList();
        if (keep is null)
        {
            // Marked before any version is retired: a lease that ends meanwhile then takes the folder with it.
            lock (_folders)
                _orphaned.Add(function);
        }
        var deferred = false;
        foreach (var path in all)
        {
            if (!string.Equals(Path.GetFileName(path), kept, StringComparison.Ordinal))
                deferred |= !Leases.Retire(path);
        }
        // The folder itself goes with its last version: now, or when the last leased version's deletion runs.
        if (keep is null && !deferred)
        {
            lock (_folders)
            {
                _orphaned.Remove(function);
                if (Directory.Exists(folder))
                    Directory.Delete(folder, recursive: true);
            }
        }
    }

    /// <summary>The function is deployed again: its folder is its own again, not one waiting to go.</summary>
    private void Adopt(string function)
    {
        lock (_folders)
            _orphaned.Remove(function);
    }

    /// <summary>At start, when no lease can exist yet: deletes every stored version that is not the current one
    /// of a registered user function (<paramref name="current"/>: name to path), and the folders of functions that
    /// are not registered. What a redeploy during the previous run could not delete goes here.</summary>
    public void PruneAllBut(IReadOnlyDictionary<string, string> current)
    {
        ArgumentNullException.ThrowIfNull(current);
        if (!Directory.Exists(Root))
            return;
        foreach (var folder in Directory.EnumerateDirectories(Root))
        {
            var name = Path.GetFileName(folder);
            if (!FunctionName.IsValid(name))
                continue; // not ours: leave what we did not write
            Prune(name, current.GetValueOrDefault(name));
        }
    }

    private void DeleteVersion(string path)
    {
        if (Directory.Exists(path))
            Directory.Delete(path, recursive: true);
        else
            File.Delete(path);
        var folder = Path.GetDirectoryName(path)!;
        lock (_folders)
        {
            // The last version of a deleted function: its folder goes too (if nothing else was left in it).
            if (_orphaned.Contains(Path.GetFileName(folder)) && Directory.Exists(folder) && !Directory.EnumerateFileSystemEntries(folder).Any())
            {
                _orphaned.Remove(Path.GetFileName(folder));
                Directory.Delete(folder);
            }
        }
    }

    private string Folder(string function)
    {
        // Names are checked before they get here; this is the last guard against a path leaving Root.
        if (!FunctionName.IsValid(function))
            throw new InvalidRequestException($"'{function}' is not a valid function name");
        return Path.Combine(Root, function);
    }
}

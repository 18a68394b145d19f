using Snapfn.Interop;

namespace Snapfn.Platform;

/// <summary>
/// User functions' code under $SNAPFN_HOME/user-functions/NAME/: an ELF as SHA256.elf, a Python function's
/// folder as SHA256/. Named by content, so a redeploy writes beside the version a running invocation may still
/// be reading; the old one is removed after the registry points at the new one.
/// </summary>
public sealed class UserElfStore
{
    public UserElfStore(SnapfnHome home)
    {
        ArgumentNullException.ThrowIfNull(home);
        Root = Path.Combine(home.Path, "user-functions");
    }

    public string Root { get; }

    public string PathOf(string function, string sha256) => Path.Combine(Folder(function), sha256 + ".elf");

    /// <summary>Writes the ELF durably (flushed, renamed into place) and returns its path.</summary>
    public string Store(string function, string sha256, byte[] elf)
    {
        var path = PathOf(function, sha256);
        Directory.CreateDirectory(Folder(function));
        DurableFile.Replace(path, elf);
        return path;
    }

    /// <summary>Unpacks a Python function's package into SHA256/ (files flushed, then the folder renamed into place)
    /// and returns the folder.</summary>
    public string StorePython(string function, string sha256, byte[] package, DeployLimits limits)
    {
        var path = Path.Combine(Folder(function), sha256);
        if (Directory.Exists(path))
            return path;
        var temporary = Path.Combine(Folder(function), $".tmp-{Guid.NewGuid():N}");
        try
        {
            PythonPackage.Unpack(package, temporary, limits);
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

    /// <summary>Deletes every stored version of <paramref name="function"/> except <paramref name="keep"/> (all when null).</summary>
    public void Prune(string function, string? keep)
    {
        var folder = Folder(function);
        if (!Directory.Exists(folder))
            return;
        foreach (var file in Directory.EnumerateFiles(folder))
        {
            if (keep is null || !string.Equals(file, keep, StringComparison.Ordinal))
                File.Delete(file);
        }
        foreach (var directory in Directory.EnumerateDirectories(folder))
        {
            if (keep is null || !string.Equals(directory, keep, StringComparison.Ordinal))
                Directory.Delete(directory, recursive: true);
        }
        if (keep is null)
            Directory.Delete(folder, recursive: true);
    }

    private string Folder(string function)
    {
        // Names are checked before they get here; this is the last guard against a path leaving Root.
        if (!FunctionName.IsValid(function))
            throw new InvalidRequestException($"'{function}' is not a valid function name");
        return Path.Combine(Root, function);
    }
}

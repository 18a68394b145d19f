using Snapfn.Snapshots;

namespace Snapfn.Platform;

/// <summary>
/// User functions' ELFs under $SNAPFN_HOME/user-functions/NAME/SHA256.elf. Named by content, so a redeploy
/// writes a new file beside the one a running invocation may still be reading; the old one is removed after the
/// registry points at the new one.
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

    /// <summary>Deletes every stored ELF of <paramref name="function"/> except <paramref name="keep"/> (all when null).</summary>
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

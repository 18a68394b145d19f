using Snapfn.Snapshots;

namespace Snapfn.Platform;

/// <summary>Where Snapfn keeps its state: $SNAPFN_HOME, or ~/.local/share/snapfn. One folder per function.</summary>
public sealed class SnapfnHome
{
    public SnapfnHome(string path)
    {
        Path = path;
        FunctionsPath = System.IO.Path.Combine(path, "functions");
    }

    private SnapfnHome(string path, string functionsPath)
    {
        Path = path;
        FunctionsPath = functionsPath;
    }

    /// <summary>This home (its runtime roots, registry, user functions) with the functions' folders, and so their
    /// snapshots, kept under <paramref name="functionsPath"/> instead: a bench's copies of a snapshot, or a
    /// snapshot on remote storage.</summary>
    public SnapfnHome WithFunctionsAt(string functionsPath)
    {
        ArgumentNullException.ThrowIfNull(functionsPath);
        return new SnapfnHome(Path, System.IO.Path.GetFullPath(functionsPath));
    }

    public string Path { get; }

    public static SnapfnHome Default()
    {
        var configured = Environment.GetEnvironmentVariable("SNAPFN_HOME");
        if (!string.IsNullOrEmpty(configured))
            return new SnapfnHome(System.IO.Path.GetFullPath(configured));
        var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        return new SnapfnHome(System.IO.Path.Combine(home, ".local", "share", "snapfn"));
    }

    /// <summary>Where the functions' folders (and so their snapshots) are.</summary>
    public string FunctionsPath { get; }

    public SnapshotFolder SnapshotFolder(string function)
    {
        if (!FunctionName.IsValid(function))
            throw new ArgumentException($"'{function}' is not a valid function name (lower-case letters, digits and dashes)", nameof(function));
        return new SnapshotFolder(System.IO.Path.Combine(FunctionsPath, function), function);
    }
}

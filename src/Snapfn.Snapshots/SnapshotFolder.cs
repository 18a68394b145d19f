namespace Snapfn.Snapshots;

/// <summary>The folder that holds one function's snapshot and the recordings made from it.</summary>
public sealed class SnapshotFolder
{
    public const string StateFileName = "state.bin";

    public SnapshotFolder(string path, string function)
    {
        Path = path;
        Function = function;
    }

    public string Path { get; }

    public string Function { get; }

    public string StatePath => System.IO.Path.Combine(Path, StateFileName);

    /// <summary>The command that (re)takes this snapshot, for error messages.</summary>
    public string RetakeCommand => $"snapfn snapshot {Function}";

    public string File(string name) => System.IO.Path.Combine(Path, name);
}

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

    /// <summary>What fixes a bad snapshot in this folder: taking it again.</summary>
    public SnapshotRemedy Remedy => SnapshotRemedy.TakeSnapshot(Function);

    public string File(string name) => System.IO.Path.Combine(Path, name);
}

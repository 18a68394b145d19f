using Snapfn.Vmm;

namespace Snapfn.Snapshots;

/// <summary>A snapshot whose state file verified and whose memory file is present and long enough.</summary>
public sealed class Snapshot
{
    private Snapshot(SnapshotFolder folder, SnapshotState state, IGuestProgram program)
    {
        Folder = folder;
        State = state;
        Program = program;
    }

    /// <summary>The program the snapshot is of, which makes its VMs.</summary>
    public IGuestProgram Program { get; }

    public SnapshotFolder Folder { get; }

    public SnapshotState State { get; }

    public string MemoryPath => Folder.File(State.MemoryFileName);

    public static bool Exists(SnapshotFolder folder) => System.IO.File.Exists(folder?.StatePath);

    /// <summary>Opens and checks a snapshot of <paramref name="program"/> as it is now.</summary>
    public static Snapshot Open(SnapshotFolder folder, IGuestProgram program)
    {
        ArgumentNullException.ThrowIfNull(folder);
        ArgumentNullException.ThrowIfNull(program);
        var elfSha256 = program.Sha256;
        if (!System.IO.File.Exists(folder.StatePath))
            throw new SnapshotInvalidException(
                $"function '{folder.Function}' has no snapshot (no {folder.StatePath})", folder.Remedy);
        byte[] bytes;
        try
        {
            bytes = System.IO.File.ReadAllBytes(folder.StatePath);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new SnapshotInvalidException($"cannot read {folder.StatePath}: {e.Message}", folder.Remedy, e);
        }
        var state = StateFile.Deserialize(bytes, folder.StatePath, folder.Remedy);
        if (state.Function != folder.Function)
            throw new SnapshotInvalidException(
                $"snapshot in {folder.Path} is of function '{state.Function}', not '{folder.Function}'", folder.Remedy);
        if (!string.Equals(state.ElfSha256, elfSha256, StringComparison.Ordinal))
            throw new SnapshotInvalidException(
                $"snapshot of '{folder.Function}' was taken from a different build of its code", folder.Remedy);
        var snapshot = new Snapshot(folder, state, program);
        var memory = new FileInfo(snapshot.MemoryPath);
        if (!memory.Exists)
            throw new SnapshotInvalidException(
                $"snapshot memory file {snapshot.MemoryPath} is missing", folder.Remedy);
        if ((ulong)memory.Length != state.MemorySize)
            throw new SnapshotInvalidException(
                $"snapshot memory file {snapshot.MemoryPath} is {memory.Length} bytes, but the state says {state.MemorySize}", folder.Remedy);
        try
        {
            _ = state.Layout;
        }
        catch (ArgumentException e)
        {
            throw new SnapshotInvalidException($"snapshot state in {folder.StatePath} has an impossible layout ({e.Message})", folder.Remedy, e);
        }
        return snapshot;
    }
}

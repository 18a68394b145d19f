using Snapfn.Vmm;

namespace Snapfn.Snapshots;

/// <summary>
/// A snapshot whose state file verified and whose memory file is present and long enough. One opened with
/// <see cref="OpenLeased"/> holds a lease on its memory file until it is disposed, so a new snapshot of the function
/// taken meanwhile (which retires the old memory file) deletes that file only after this one is done with it.
/// </summary>
public sealed class Snapshot : IDisposable
{
    private readonly FileLease? _memoryLease;

    private Snapshot(SnapshotFolder folder, SnapshotState state, IGuestProgram program, FileLease? memoryLease)
    {
        Folder = folder;
        State = state;
        Program = program;
        _memoryLease = memoryLease;
    }

    /// <summary>The memory files snapshots of this process restore from: <see cref="SnapshotWriter"/> retires the
    /// ones a new snapshot replaces through these leases. Process-wide, as the files are.</summary>
    public static FileLeases MemoryFiles { get; } = new(System.IO.File.Delete);

    /// <summary>The program the snapshot is of, which makes its VMs.</summary>
    public IGuestProgram Program { get; }

    public SnapshotFolder Folder { get; }

    public SnapshotState State { get; }

    public string MemoryPath => Folder.MemoryFile(State.MemoryFileName);

    /// <summary>Whether this snapshot holds its memory file until disposed.</summary>
    public bool IsLeased => _memoryLease is not null;

    public static bool Exists(SnapshotFolder folder) => System.IO.File.Exists(folder?.StatePath);

    /// <summary>Opens and checks a snapshot of <paramref name="program"/> as it is now, without holding its memory
    /// file: for callers that a new snapshot cannot race (they hold the function's change lock) or that only read
    /// its state.</summary>
    public static Snapshot Open(SnapshotFolder folder, IGuestProgram program)
    {
        var state = ReadState(folder, program);
        var snapshot = new Snapshot(folder, state, program, memoryLease: null);
        snapshot.Check();
        return snapshot;
    }

    /// <summary>Opens and checks a snapshot of <paramref name="program"/> as it is now and leases its memory file
    /// until the snapshot is disposed: what an invocation restores from.</summary>
    public static Snapshot OpenLeased(SnapshotFolder folder, IGuestProgram program) => OpenLeased(folder, program, stateRead: null);

    /// <param name="stateRead">A seam for tests: called with the memory file a state names, before it is leased (a
    /// test takes a new snapshot here to make its retirement win the race).</param>
    internal static Snapshot OpenLeased(SnapshotFolder folder, IGuestProgram program, Action<string>? stateRead)
    {
        string? missing = null;
        while (true)
        {
            var state = ReadState(folder, program);
            var path = folder.MemoryFile(state.MemoryFileName);
            stateRead?.Invoke(path);
            var lease = MemoryFiles.TryAcquire(path);
            // Gone between reading the state and leasing it: a new snapshot retired it, and the state now names the
            // new file. Missing twice in a row is not that race: Check says what is missing.
            if (lease is null && !string.Equals(path, missing, StringComparison.Ordinal))
            {
                missing = path;
                continue;
            }
            var snapshot = new Snapshot(folder, state, program, lease);
            try
            {
                snapshot.Check();
            }
            catch
            {
                snapshot.Dispose();
                throw;
            }
            return snapshot;
        }
    }

    /// <summary>Releases the memory file's lease, if this snapshot holds one (idempotent).</summary>
    public void Dispose() => _memoryLease?.Dispose();

    private static SnapshotState ReadState(SnapshotFolder folder, IGuestProgram program)
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
        return state;
    }

    private void Check()
    {
        var memory = new FileInfo(MemoryPath);
        if (!memory.Exists)
            throw new SnapshotInvalidException(
                $"snapshot memory file {MemoryPath} is missing", Folder.Remedy);
        // Snapfn writes it as a regular file in the folder; a link there points somewhere a snapshot never is.
        if (memory.LinkTarget is not null)
            throw new SnapshotInvalidException(
                $"snapshot memory file {MemoryPath} is a symbolic link, not the file Snapfn wrote", Folder.Remedy);
        if ((ulong)memory.Length != State.MemorySize)
            throw new SnapshotInvalidException(
                $"snapshot memory file {MemoryPath} is {memory.Length} bytes, but the state says {State.MemorySize}", Folder.Remedy);
        try
        {
            _ = State.Layout;
        }
        catch (ArgumentException e)
        {
            throw new SnapshotInvalidException($"snapshot state in {Folder.StatePath} has an impossible layout ({e.Message})", Folder.Remedy, e);
        }
    }
}

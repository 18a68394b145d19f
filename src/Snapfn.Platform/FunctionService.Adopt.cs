using Snapfn.Interop;
using Snapfn.Snapshots;
using Snapfn.Snapshots.Backends;

namespace Snapfn.Platform;

/// <summary>A snapshot taken on another machine (a cluster node's), its files fetched into a staging folder on this
/// one: the state file, the memory file it names, and recordings made from it.</summary>
/// <param name="MemoryMib">The guest memory it was taken with (the function's registered size unless overridden).</param>
/// <param name="DataPages">Its non-zero pages, as the taking node counted them.</param>
public sealed record AdoptedSnapshot(string StatePath, string MemoryPath, int MemoryMib, long DataPages, IReadOnlyList<AdoptedRecording> Recordings);

/// <summary>A recording of an <see cref="AdoptedSnapshot"/>: its mode (reap, faasnap), its staged file and figures.</summary>
public sealed record AdoptedRecording(string Mode, string Path, long Pages, int Regions, DateTimeOffset RecordedAt);

public sealed partial class FunctionService
{
    /// <summary>Opens the function's current snapshot, holding its memory file until disposed (a new snapshot taken
    /// meanwhile retires it only after): what a node reads to publish the snapshot to a cluster.</summary>
    public Snapshot OpenSnapshot(string name) => _snapshots.OpenLeased(Get(name).Info);

    /// <summary>
    /// Makes a snapshot taken elsewhere this function's snapshot, without booting anything: the staged state file is
    /// checked (its function, the code it was taken from, which must be the registered code, its memory size), the
    /// staged memory file moved into the function's folder under the name the state gives it, the state committed as
    /// <see cref="SnapshotWriter"/> commits one, the snapshot opened as a restore opens it, and registered; then each
    /// recording is moved beside it, checked against it and registered. One change under the function's lock.
    /// </summary>
    public SnapshotRecord AdoptSnapshot(string name, AdoptedSnapshot adopted)
    {
        ArgumentNullException.ThrowIfNull(adopted);
        var function = Get(name);
        var memorySize = CheckMemory(adopted.MemoryMib, "memory_mib");
        var folder = Home.SnapshotFolder(name);
        var recorders = adopted.Recordings.Select(r =>
            RestoreModes.TryGet(r.Mode, out var mode) && mode.Recorder is { } recorder
                ? (Recording: r, Recorder: recorder)
                : throw new InvalidRequestException($"cannot adopt a recording of mode '{r.Mode}'; recordable modes: {string.Join(", ", RecordModes)}")).ToList();
        lock (ChangeLock(name))
        {
            var program = _snapshots.Program(function.Info);
            var state = StateFile.Deserialize(File.ReadAllBytes(adopted.StatePath), adopted.StatePath, folder.Remedy);
            string Taken() => $"the snapshot of '{name}' taken on another node";
            if (state.Function != name)
                throw new SnapshotInvalidException($"{Taken()} is of function '{state.Function}'", folder.Remedy);
            if (!string.Equals(state.ElfSha256, program.Sha256, StringComparison.Ordinal))
                throw new SnapshotInvalidException($"{Taken()} was taken from other code ({state.ElfSha256}) than this node's ({program.Sha256})", folder.Remedy);
            if (state.MemorySize != memorySize)
                throw new SnapshotInvalidException($"{Taken()} has {state.MemorySize} bytes of guest memory, not the {adopted.MemoryMib} MiB it was published with", folder.Remedy);
            var memory = new FileInfo(adopted.MemoryPath);
            if (!memory.Exists || (ulong)memory.Length != state.MemorySize)
                throw new SnapshotInvalidException($"{Taken()} has a memory file of {(memory.Exists ? memory.Length : 0)} bytes, not the {state.MemorySize} its state gives", folder.Remedy);

            Directory.CreateDirectory(folder.Path);
            var memoryPath = folder.MemoryFile(state.MemoryFileName);
            File.Move(adopted.MemoryPath, memoryPath, overwrite: true);
            DurableFile.FlushDirectory(folder.Path);
            SnapshotWriter.Commit(folder, state);
            var snapshot = _snapshots.Open(function.Info);
            var record = new SnapshotRecord
            {
                SnapshotId = state.Id,
                ElfSha256 = state.ElfSha256,
                StateSha256 = FunctionRegistry.Sha256Of(folder.StatePath),
                MemoryFile = state.MemoryFileName,
                MemoryMib = adopted.MemoryMib,
                AllocatedBytes = PageCache.Sizes(memoryPath).Allocated,
                DataPages = adopted.DataPages,
                TakenAt = state.CreatedAt,
            };
            _registry.PutSnapshot(name, record);
            foreach (var (recording, recorder) in recorders)
            {
                var path = folder.File(recorder.FileName);
                File.Move(recording.Path, path, overwrite: true);
                DurableFile.FlushDirectory(folder.Path);
                recorder.Check(snapshot); // made from this snapshot, intact
                _registry.PutRecording(name, new RecordingRecord
                {
                    Mode = recording.Mode,
                    SnapshotId = state.Id,
                    Path = path,
                    Sha256 = FunctionRegistry.Sha256Of(path),
                    Pages = recording.Pages,
                    Regions = recording.Regions,
                    FileBytes = new FileInfo(path).Length,
                    RecordedAt = recording.RecordedAt,
                });
            }
            Changed(name);
            return record;
        }
    }
}

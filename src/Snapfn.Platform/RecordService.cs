using Snapfn.Snapshots.Backends;
using Snapfn.Snapshots.Recording;
using Snapfn.Vmm;

namespace Snapfn.Platform;

/// <summary>Records a function's working set (reap) or loading set (faasnap) with one input, next to its snapshot.</summary>
public sealed class RecordService
{
    public static readonly IReadOnlyList<string> Modes = ["reap", "faasnap"];
    private readonly SnapshotService _snapshots;

    public RecordService(SnapshotService snapshots)
    {
        _snapshots = snapshots;
    }

    /// <summary>Throws <see cref="Snapfn.Snapshots.SnapshotInvalidException"/> unless the function has a valid
    /// recording for <paramref name="mode"/> made from its current snapshot.</summary>
    public void Check(FunctionInfo function, string mode)
    {
        ArgumentNullException.ThrowIfNull(function);
        var snapshot = _snapshots.Open(function);
        var (file, command) = mode switch
        {
            "reap" => (ReapBackend.FileName, ReapBackend.RecordCommand(snapshot)),
            "faasnap" => (FaasnapBackend.FileName, FaasnapBackend.RecordCommand(snapshot)),
            _ => throw new ArgumentException($"mode '{mode}' has no recording"),
        };
        _ = RecordingFile.Open(snapshot.Folder.File(file), mode, snapshot, command);
    }

    public RecordingResult Record(FunctionInfo function, string mode, byte[] input, MicroVmOptions options, FaasnapRecordOptions? faasnap = null)
    {
        ArgumentNullException.ThrowIfNull(function);
        ArgumentNullException.ThrowIfNull(options);
        var snapshot = _snapshots.Open(function);
        options = options with { Name = function.Name };
        return mode switch
        {
            "reap" => ReapRecorder.Record(snapshot, input, options),
            "faasnap" => FaasnapRecorder.Record(snapshot, input, options, faasnap ?? new FaasnapRecordOptions()),
            _ => throw new ArgumentException($"cannot record mode '{mode}'; recordable modes: {string.Join(", ", Modes)}"),
        };
    }
}

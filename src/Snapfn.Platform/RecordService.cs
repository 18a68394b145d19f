using Snapfn.Snapshots.Backends;
using Snapfn.Snapshots.Recording;
using Snapfn.Vmm;

namespace Snapfn.Platform;

/// <summary>Records a function's working set (reap) or loading set (faasnap) with one input, next to its snapshot.</summary>
public sealed class RecordService
{
    /// <summary>The modes that record something (reap, faasnap), from the mode registry.</summary>
    public static IReadOnlyList<string> Modes => RestoreModes.RecordedNames;

    private readonly SnapshotService _snapshots;

    public RecordService(SnapshotService snapshots)
    {
        _snapshots = snapshots;
    }

    /// <summary>Throws <see cref="Snapfn.Snapshots.SnapshotInvalidException"/> unless the function has a valid
    /// recording for <paramref name="mode"/> made from its current snapshot.</summary>
    /// <remarks>With <paramref name="input"/>, a recording made with another input or other options is invalid too.</remarks>
    public void Check(FunctionInfo function, string mode, byte[]? input = null, FaasnapRecordOptions? recordOptions = null)
    {
        ArgumentNullException.ThrowIfNull(function);
        Recorder(mode).Check(_snapshots.Open(function), input, recordOptions);
    }

    public RecordingResult Record(FunctionInfo function, string mode, byte[] input, MicroVmOptions options, FaasnapRecordOptions? faasnap = null)
    {
        ArgumentNullException.ThrowIfNull(function);
        ArgumentNullException.ThrowIfNull(options);
        var recorder = Recorder(mode);
        return recorder.Record(_snapshots.Open(function), input, options with { Name = function.Name }, faasnap ?? new FaasnapRecordOptions());
    }

    private static IModeRecorder Recorder(string mode) =>
        RestoreModes.TryGet(mode, out var found) && found.Recorder is { } recorder
            ? recorder
            : throw new ArgumentException($"cannot record mode '{mode}'; recordable modes: {string.Join(", ", Modes)}");
}

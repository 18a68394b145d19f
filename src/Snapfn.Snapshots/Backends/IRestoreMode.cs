using Snapfn.Snapshots.Recording;
using Snapfn.Vmm;

namespace Snapfn.Snapshots.Backends;

/// <summary>
/// A restore mode of DESIGN.md §3, as the CLI, the daemon, the bench, the record service and the metrics see it:
/// its name, whether a benchmark run makes its files cold first, what it records and how, and what its counters
/// mean. Modes that restore memory are <see cref="IMemoryBackend"/>s; `warm` restores nothing (it keeps a VM).
/// Adding a mode is one type, listed in <see cref="RestoreModes"/>.
/// </summary>
public interface IRestoreMode
{
    /// <summary>The mode's name on the command line, in the API and in results.</summary>
    string Mode { get; }

    /// <summary>True when a benchmark run (and `--cold`) drops its files from the page cache first; false for the
    /// modes whose point is that memory is already there (cached, warm).</summary>
    bool RunsCold { get; }

    /// <summary>How the mode's recording is made (REAP's working set, FaaSnap's loading set); null: it needs none.</summary>
    IModeRecorder? Recorder { get; }

    /// <summary>The counters its restores report, with what each means.</summary>
    IReadOnlyList<ModeCounter> Counters { get; }
}

/// <summary>What one counter of a mode means; <see cref="PagesPerUnit"/> says how it converts to guest pages
/// for the metrics (0: it does not count pages), <see cref="Source"/> the metrics' label for those pages.
/// <see cref="OutsideRecording"/> marks the counter of pages a restore faulted outside its recording (REAP's
/// working set, FaaSnap's loading set): what the platform watches to see requests drift from a recording.</summary>
public sealed record ModeCounter(string Name, string Description, double PagesPerUnit = 0, string? Source = null, bool OutsideRecording = false);

/// <summary>Makes and checks a mode's recording of one invocation, next to the snapshot.</summary>
public interface IModeRecorder
{
    /// <summary>The recording's file name in the snapshot's folder.</summary>
    string FileName { get; }

    /// <summary>Runs one invocation with <paramref name="input"/> and writes the recording, at <paramref name="path"/>
    /// when given (a staging name the platform renames into place: <see cref="RecordingSwap"/>), else at
    /// <see cref="FileName"/> in the snapshot's folder.</summary>
    RecordingResult Record(Snapshot snapshot, byte[] input, MicroVmOptions options, FaasnapRecordOptions recordOptions, string? path = null);

    /// <summary>Throws <see cref="SnapshotInvalidException"/> unless a valid recording of the snapshot is there;
    /// with <paramref name="input"/>, also unless it was made with that input and <paramref name="recordOptions"/>.</summary>
    void Check(Snapshot snapshot, byte[]? input = null, FaasnapRecordOptions? recordOptions = null);
}

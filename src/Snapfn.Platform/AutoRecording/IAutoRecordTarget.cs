using Snapfn.Snapshots.Recording;

namespace Snapfn.Platform.AutoRecording;

/// <summary>
/// What the <see cref="AutoRecorder"/> needs of the platform: what a function has now, a recording run, and the swap.
/// The platform's own (<see cref="FunctionService"/>) boots VMs; tests put a stand-in here, so that every decision
/// of the recorder runs without KVM.
/// </summary>
internal interface IAutoRecordTarget
{
    /// <summary>The function's current snapshot and its recordings of that snapshot; null when it has no snapshot
    /// (nothing can be recorded before one).</summary>
    AutoRecordFacts? Facts(string function);

    /// <summary>Runs one recording of <paramref name="mode"/> with the job's input into a staging file beside the live
    /// one (a VM: KVM). Throws when it cannot.</summary>
    StagedRecording Stage(AutoRecordJob job, string mode);

    /// <summary>Under the function's change lock: when <paramref name="stillCurrent"/> says the function did not change
    /// since the job was queued, renames the staged file over the live one and updates the registry row; otherwise
    /// deletes the staged file. True when it swapped.</summary>
    bool Commit(AutoRecordJob job, StagedRecording staged, Func<bool> stillCurrent);
}

/// <summary>A function's snapshot and recordings as the registry has them, with its declared sample input.</summary>
/// <param name="RecordedPages">Per recorded mode (reap, faasnap), the pages of its recording of this snapshot.</param>
/// <param name="SampleInput">The input its snapfn.json names as <c>sample_input</c>, read from its folder; null when none.</param>
/// <param name="SampleInputError">Why a declared sample input could not be used; null when fine or none.</param>
internal sealed record AutoRecordFacts(Guid SnapshotId, IReadOnlyDictionary<string, long> RecordedPages, byte[]? SampleInput = null,
    string? SampleInputError = null);

/// <summary>A recording run that wrote its file under a staging name, not yet swapped in.</summary>
internal sealed record StagedRecording(string Mode, string StagedPath, string LivePath, RecordingResult Result, string Sha256);

/// <summary>Why the recorder records.</summary>
public enum AutoRecordTrigger
{
    /// <summary>The function's first real request since its snapshot (its input).</summary>
    FirstInvocation,
    /// <summary>The sample input its snapfn.json declares.</summary>
    SampleInput,
    /// <summary>Requests drifted from the recording; the input of a recent one that did.</summary>
    Drift,
}

/// <summary>One queued recording: a function as it was when queued (its change generation and snapshot), the modes
/// to record and the input, which the job holds only until it is recorded.</summary>
internal sealed class AutoRecordJob(string function, long generation, Guid snapshotId, IReadOnlyList<string> modes, byte[] input,
    AutoRecordTrigger trigger)
{
    public string Function { get; } = function;

    public long Generation { get; } = generation;

    public Guid SnapshotId { get; } = snapshotId;

    public IReadOnlyList<string> Modes { get; } = modes;

    /// <summary>Dropped (null) once the job is done, so that a finished job holds no request data.</summary>
    public byte[]? Input { get; set; } = input;

    public AutoRecordTrigger Trigger { get; } = trigger;

    public bool Running { get; set; }
}

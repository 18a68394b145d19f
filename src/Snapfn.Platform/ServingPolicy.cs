using Snapfn.Snapshots;

namespace Snapfn.Platform;

/// <summary>What the platform knows about a function when one of its requests is admitted: the facts
/// <see cref="ServingPolicy"/> decides from, and nothing else.</summary>
public sealed record ServingFacts
{
    public required string Function { get; init; }

    /// <summary>The caller's <c>?mode=</c> (already checked to be a mode), or null to let the platform choose.</summary>
    public string? RequestedMode { get; init; }

    public required bool HasSnapshot { get; init; }

    /// <summary>The function declares it keeps state between requests (snapfn.json <c>keep_state</c>).</summary>
    public bool KeepState { get; init; }

    /// <summary>An idle VM of this function, of the version being invoked, is waiting.</summary>
    public bool IdleInstance { get; init; }

    /// <summary>Idle VMs can be reset to the snapshot in place (issue 20, blocked here for want of KVM): false until
    /// that exists, so a function that does not keep state never reuses a VM — it would see an earlier request's
    /// memory. When it exists this is the one fact that turns the <see cref="ServePathKind.Reset"/> path on.</summary>
    public bool CanResetInPlace { get; init; }

    /// <summary>The recorded modes with a recording of the current snapshot whose file exists.</summary>
    public IReadOnlyCollection<string> ValidRecordings { get; init; } = [];

    /// <summary>Whether every data page of the snapshot's memory file is in the page cache; asked only when no
    /// recording decides (it costs a mincore over the file).</summary>
    public Func<bool> SnapshotCached { get; init; } = () => false;
}

/// <summary>
/// Which path serves a request, decided from <see cref="ServingFacts"/> alone (no KVM, no files: tested as a table).
/// In order:
/// <list type="number">
/// <item>the caller's <c>?mode=</c>, when given (experts and the bench): exactly that mode;</item>
/// <item>an idle VM of the function: kept as it is for a function that keeps state; reset in place otherwise, once
/// that exists (<see cref="ServingFacts.CanResetInPlace"/>);</item>
/// <item>no snapshot: refused, saying how to take one (deploy takes it);</item>
/// <item>a cold restore in the first mode of <see cref="RecordedPreference"/> the function has a valid recording for;</item>
/// <item>else <c>cached</c> when the snapshot's memory file is in the page cache, else <c>vanilla</c>.</item>
/// </list>
/// </summary>
public static class ServingPolicy
{
    /// <summary>
    /// The recorded modes, fastest first on the requests a platform serves. faasnap before reap: on the recorded
    /// input the two are within 4 % here (docs/results: faasnap 0.96x of REAP, geomean of the Python suite), but on
    /// inputs that drift from the recording REAP falls far behind (drift experiment: REAP's time grows 9.1x from
    /// the recorded py-json input to the largest, faasnap's 3.2x; py-recognition 5.9x against 1.15x), because REAP
    /// pays a userfaultfd round trip for every page outside its working set while FaaSnap's loading set is a
    /// superset and the rest is demand paging. Served requests are never the recorded one. (On remote storage REAP
    /// wins, E4: not the case of a local snapshot.)
    /// </summary>
    public static IReadOnlyList<string> RecordedPreference { get; } = ["faasnap", "reap"];

    public static ServePath Decide(ServingFacts facts)
    {
        ArgumentNullException.ThrowIfNull(facts);
        if (facts.RequestedMode is { } mode)
            return ServePath.Override(mode);
        if (facts.IdleInstance)
        {
            if (facts.KeepState)
                return ServePath.Kept;
            if (facts.CanResetInPlace)
                return ServePath.Reset;
        }
        if (!facts.HasSnapshot)
        {
            throw new SnapshotInvalidException(
                $"'{facts.Function}' has no snapshot yet, so there is nothing to restore it from",
                SnapshotRemedy.TakeSnapshot(facts.Function));
        }
        foreach (var recorded in RecordedPreference)
        {
            if (facts.ValidRecordings.Contains(recorded))
                return ServePath.Cold(recorded);
        }
        return facts.SnapshotCached() ? ServePath.ColdCached : ServePath.Cold("vanilla");
    }
}

using Snapfn.Snapshots;

namespace Snapfn.Platform;

/// <summary>One request as a caller makes it: which function, its input, and the expert's override of the path.</summary>
public sealed record InvokeRequest(string Function, byte[] Input)
{
    /// <summary>A restore mode (<c>?mode=</c>, <c>--mode</c>) to use instead of the platform's choice; null to let the
    /// platform choose (<see cref="ServingPolicy"/>).</summary>
    public string? Mode { get; init; }

    /// <summary>Drop the mode's files from the page cache first (with <see cref="Mode"/>: the bench's cold runs).</summary>
    public bool Cold { get; init; }

    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(60);
}

/// <summary>
/// An invocation resolved once, at the edge, into everything that runs it: the function as the registry had it (one
/// read), the version of its code leased for the whole run, its snapshot and the recording the path uses, the path,
/// the guest memory, and how long it queued. Layers below take the plan and never look the function up again.
/// </summary>
public sealed record InvocationPlan
{
    public required ServingFunction Function { get; init; }

    /// <summary>The code this invocation runs on (leased: a redeploy does not delete it under the run).</summary>
    public string Version => Function.Info.CodePath;

    public SnapshotRecord? Snapshot => Function.Snapshot;

    /// <summary>The snapshot a restore path restores from, opened when the request was admitted, its memory file leased
    /// until the <see cref="Admission"/> ends (a snapshot retaken meanwhile deletes the old file only then); null on a
    /// path that restores nothing (a kept VM, <c>warm</c>).</summary>
    internal Snapshot? OpenedSnapshot { get; init; }

    /// <summary>The recording a recorded path restores with (faasnap, reap); null otherwise.</summary>
    public RecordingRecord? Recording { get; init; }

    public required ServePath Path { get; init; }

    /// <summary>The restore mode that runs (the path's mechanism: vanilla for <c>cold-cached</c>).</summary>
    public string Mode => Path.Mode;

    /// <summary>The guest memory a booted VM gets (a restore takes the snapshot's).</summary>
    public required ulong MemoryBytes { get; init; }

    public required byte[] Input { get; init; }

    public bool Cold { get; init; }

    public required TimeSpan Timeout { get; init; }

    /// <summary>The VMs of this function that may run at once (its max_instances, or the platform's default).</summary>
    public required int MaxInstances { get; init; }

    /// <summary>How long the request waited for an instance of the function.</summary>
    public TimeSpan QueueWait { get; init; }

    /// <summary>The idle VM this invocation runs on (<see cref="ServePathKind.Kept"/>), or null.</summary>
    internal KeptVm? Instance { get; init; }

    /// <summary>Whether the VM is kept after the request: for a function that keeps state, on the platform's paths.</summary>
    public bool KeepsVm => Function.Settings.KeepState && Path.Kind is ServePathKind.Cold or ServePathKind.Kept;
}

/// <summary>
/// A request admitted to run (<see cref="FunctionServer.AdmitAsync"/>): its <see cref="Plan"/>, the lease on its
/// code's version and its turn on the function's instances. <see cref="FunctionServer.Run"/> runs and ends it;
/// disposing one that never ran gives the lease and the turn back.
/// </summary>
public sealed class Admission : IDisposable
{
    private readonly InstancePool<KeptVm> _instances;
    private FileLease? _version;
    private Snapshot? _snapshot;
    private InstanceTurn<KeptVm>? _turn;

    internal Admission(InvocationPlan plan, FileLease version, InstanceTurn<KeptVm> turn, InstancePool<KeptVm> instances, long startedAt)
    {
        Plan = plan;
        _version = version;
        _snapshot = plan.OpenedSnapshot;
        _turn = turn;
        _instances = instances;
        StartedAt = startedAt;
    }

    public InvocationPlan Plan { get; }

    /// <summary>The Stopwatch timestamp at which the request arrived (before its queue wait).</summary>
    public long StartedAt { get; }

    internal FileLease? Version => _version;

    /// <summary>Ends the turn, keeping <paramref name="kept"/> idle for the next request (or nothing), and the lease.</summary>
    internal void End(KeptVm? kept)
    {
        if (Interlocked.Exchange(ref _turn, null) is { } turn)
            _instances.Release(turn, kept);
        else
            kept?.Dispose();
        Interlocked.Exchange(ref _version, null)?.Dispose();
        Interlocked.Exchange(ref _snapshot, null)?.Dispose();
    }

    public void Dispose()
    {
        // Never run: an idle VM it took goes back as it was. Run ended it already otherwise.
        if (Volatile.Read(ref _turn) is not null)
            End(Plan.Instance);
    }
}

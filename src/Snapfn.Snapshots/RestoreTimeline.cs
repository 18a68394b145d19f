namespace Snapfn.Snapshots;

/// <summary>
/// When the parts of one restore ended, as Stopwatch timestamps stamped by <see cref="SnapshotRun"/> as it goes (0 for
/// a part not reached): the VM and its process state rebuilt, then the mode's pre-run fill (REAP's prefetch; nothing
/// for modes that fill concurrently). A caller that times the memory restore itself turns these, with the run's
/// entry and end, into the spans of a trace without this layer knowing about tracing.
/// </summary>
public sealed class RestoreTimeline
{
    /// <summary>The VM built from the shell and the restored memory, its vCPU and (a Linux program's) process state loaded.</summary>
    public long StateRestored { get; set; }

    /// <summary>The mode's work before the first instruction done (<see cref="Backends.RestoredMemory.BeforeFirstRun"/>).</summary>
    public long Filled { get; set; }
}

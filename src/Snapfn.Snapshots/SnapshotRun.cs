using Snapfn.Snapshots.Backends;
using Snapfn.Vmm;

namespace Snapfn.Snapshots;

/// <summary>
/// One request on a VM restored from a snapshot, the same way for an invocation and for a recording: the VM
/// is made of the shell and the restored memory, the restore mode may stop the guest (a failed page server),
/// its pre-run work (REAP's prefetch) happens just before the first instruction, and its helpers stop when
/// the request ends, whatever the outcome.
/// </summary>
public static class SnapshotRun
{
    /// <summary>The VM takes <paramref name="shell"/> over and is gone on return; <paramref name="memory"/> stays the
    /// caller's. <paramref name="cancel"/> stops the guest mid-run; <paramref name="timeline"/>, when given, is stamped
    /// as the restore's parts end.</summary>
    public static (GuestRun Run, byte[] Output) Run(Snapshot snapshot, VmShell shell, RestoredMemory memory, ReadOnlySpan<byte> input,
        MicroVmOptions options, RestoreTimeline? timeline = null, CancellationToken cancel = default)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        ArgumentNullException.ThrowIfNull(memory);
        ArgumentNullException.ThrowIfNull(options);
        using var vm = snapshot.Program.Restore(snapshot.State, shell, memory.Memory, options);
        // The VMM rebuilt its own pages; they must be the ones the guest was snapshotted with (the same vDSO, stub, layout).
        if (!vm.OwnedPages.Digest.AsSpan().SequenceEqual(snapshot.State.VmmPagesSha256))
            throw new SnapshotInvalidException(
                $"the snapshot of '{snapshot.Folder.Function}' was taken with other VMM pages than this Snapfn builds " +
                "(the vDSO in guest/build was rebuilt, Snapfn changed, or the snapshot was taken on another kind of KVM host)",
                snapshot.Folder.Remedy);
        timeline?.StateRestored = System.Diagnostics.Stopwatch.GetTimestamp();
        memory.AttachGuest(vm.Stop);
        using var stop = vm.StopWhenCancelled(cancel);
        memory.BeforeFirstRun();
        timeline?.Filled = System.Diagnostics.Stopwatch.GetTimestamp();
        try
        {
            var run = vm.Invoke(input);
            return (run, vm.Output(run).ToArray());
        }
        finally
        {
            memory.AfterRun();
        }
    }
}

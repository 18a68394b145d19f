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
        using var vm = Start(snapshot, shell, memory, options);
        timeline?.StateRestored = System.Diagnostics.Stopwatch.GetTimestamp();
        try
        {
            return Invoke(vm, memory, input, first: true, timeline, cancel);
        }
        finally
        {
            memory.AfterRun();
        }
    }

    /// <summary>The VM restored from <paramref name="snapshot"/> on <paramref name="shell"/> and <paramref name="memory"/>,
    /// checked and attached to its memory's helpers, before its first instruction: the caller runs requests on it
    /// with <see cref="Invoke"/>, then calls <paramref name="memory"/>'s AfterRun and disposes both (a VM kept
    /// between requests does so when it is stopped).</summary>
    public static MicroVm Start(Snapshot snapshot, VmShell shell, RestoredMemory memory, MicroVmOptions options)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        ArgumentNullException.ThrowIfNull(memory);
        ArgumentNullException.ThrowIfNull(options);
        // The guest's size is the snapshot's, whatever the caller's options say: a recorder given a function's
        // default options (2 GiB) built a 2 GiB address space and page tables over a 512 MiB snapshot.
        var vm = snapshot.Program.Restore(snapshot.State, shell, memory.Memory, options with { MemorySize = snapshot.State.MemorySize });
        try
        {
            // The VMM rebuilt its own pages; they must be the ones the guest was snapshotted with (the same vDSO, stub, layout).
            if (!vm.OwnedPages.Digest.AsSpan().SequenceEqual(snapshot.State.VmmPagesSha256))
                throw new SnapshotInvalidException(
                    $"the snapshot of '{snapshot.Folder.Function}' was taken with other VMM pages than this Snapfn builds " +
                    "(the vDSO in guest/build was rebuilt, Snapfn changed, or the snapshot was taken on another kind of KVM host)",
                    snapshot.Folder.Remedy);
            memory.AttachGuest(vm.Stop);
            return vm;
        }
        catch
        {
            vm.Dispose();
            throw;
        }
    }

    /// <summary>One request on a VM from <see cref="Start"/>; <paramref name="first"/> for its first, before which the
    /// restore mode's pre-run work (REAP's prefetch) happens; <paramref name="timeline"/>, when given, is stamped as
    /// that work ends.</summary>
    public static (GuestRun Run, byte[] Output) Invoke(MicroVm vm, RestoredMemory memory, ReadOnlySpan<byte> input, bool first,
        RestoreTimeline? timeline = null, CancellationToken cancel = default)
    {
        ArgumentNullException.ThrowIfNull(vm);
        ArgumentNullException.ThrowIfNull(memory);
        using var stop = vm.StopWhenCancelled(cancel);
        if (first)
            memory.BeforeFirstRun();
        timeline?.Filled = System.Diagnostics.Stopwatch.GetTimestamp();
        var run = vm.Invoke(input);
        return (run, vm.Output(run).ToArray());
    }
}

using System.Diagnostics;
using Snapfn.Snapshots.Backends;
using Snapfn.Vmm;

namespace Snapfn.Snapshots.Recording;

/// <summary>Runs the one invocation a recording watches: restore over the given memory, run, stop the helpers.</summary>
public static class RecordingRun
{
    /// <summary>The VM takes <paramref name="shell"/> over; <paramref name="memory"/> stays the caller's.</summary>
    public static (byte[] Output, double RunMs) Run(Snapshot snapshot, VmShell shell, RestoredMemory memory, byte[] input, MicroVmOptions options)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        ArgumentNullException.ThrowIfNull(memory);
        ArgumentNullException.ThrowIfNull(options);
        var start = Stopwatch.GetTimestamp();
        using var vm = MicroVm.Restore(shell, memory.Memory, snapshot.State.Layout, snapshot.State.Vcpu, options with { Name = snapshot.Folder.Function });
        memory.AttachGuest(vm.Stop);
        memory.BeforeFirstRun();
        try
        {
            var run = vm.Invoke(input);
            return (vm.Output(run).ToArray(), Stopwatch.GetElapsedTime(start).TotalMilliseconds);
        }
        finally
        {
            memory.AfterRun();
        }
    }
}

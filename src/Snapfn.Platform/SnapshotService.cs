using System.Diagnostics;
using Snapfn.Snapshots;
using Snapfn.Vmm;

namespace Snapfn.Platform;

/// <summary>A snapshot just taken: where it is, how big, and what booting to it cost.</summary>
public sealed record SnapshotTaken(SnapshotInfo Info, double BootMs, double InitMs, double WriteMs);

/// <summary>Takes snapshots: boot the function, run init() to READY, write state and memory.</summary>
public sealed class SnapshotService
{
    private readonly SnapfnHome _home;
    private readonly GuestLimits _guests;

    /// <param name="guests">What the VMs it boots and restores may hold (the defaults when null).</param>
    public SnapshotService(SnapfnHome home, GuestLimits? guests = null)
    {
        _home = home;
        _guests = guests ?? new GuestLimits();
        _guests.Validate();
    }

    /// <summary>The program <paramref name="function"/>'s VMs run, with this service's limits.</summary>
    public IGuestProgram Program(FunctionInfo function) => GuestPrograms.For(function, _home, _guests);

    public SnapshotTaken Take(FunctionInfo function, MicroVmOptions options)
    {
        ArgumentNullException.ThrowIfNull(function);
        ArgumentNullException.ThrowIfNull(options);
        var start = Stopwatch.GetTimestamp();
        var program = Program(function);
        using var vm = program.Boot(options with { Name = function.Name });
        var ready = vm.RunToReady();
        var info = SnapshotWriter.Write(vm, program, _home.SnapshotFolder(function.Name));
        return new SnapshotTaken(info, BootRun.Ms(start, ready.EnteredAt), BootRun.Ms(ready.EnteredAt, ready.StoppedAt),
            BootRun.Ms(ready.StoppedAt, Stopwatch.GetTimestamp()));
    }

    public SnapfnHome Home => _home;

    public Snapshot Open(FunctionInfo function)
    {
        ArgumentNullException.ThrowIfNull(function);
        return Snapshot.Open(_home.SnapshotFolder(function.Name), Program(function));
    }

    /// <summary>Opens the function's snapshot holding its memory file until the snapshot is disposed (what a restore
    /// needs: a new snapshot may be taken while it runs).</summary>
    public Snapshot OpenLeased(FunctionInfo function)
    {
        ArgumentNullException.ThrowIfNull(function);
        return Snapshot.OpenLeased(_home.SnapshotFolder(function.Name), Program(function));
    }
}

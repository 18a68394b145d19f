using System.Diagnostics;
using Snapfn.Snapshots;
using Snapfn.Snapshots.Backends;
using Snapfn.Vmm;

namespace Snapfn.Platform;

/// <summary>An invocation request: which function, how to restore it, and its input.</summary>
public sealed record InvocationRequest(FunctionInfo Function, string Mode, byte[] Input, bool Cold)
{
    /// <summary>The snapshot to restore from, opened once when the invocation was resolved and holding its memory
    /// file until the caller disposes it (<see cref="Invoker.OpenSnapshot"/>); null: the invoker opens one itself.
    /// Unused by `warm`.</summary>
    public Snapshot? Snapshot { get; init; }
}

/// <summary>
/// Restores a function from its snapshot in the requested mode and runs one request on it; in `warm` mode it
/// reuses a live VM from the pool (restoring one, vanilla, when none is idle) and keeps it afterwards.
/// </summary>
public sealed class Invoker : IDisposable
{
    private readonly SnapshotService _snapshots;
    private readonly WarmPool _pool;
    private readonly ShellPool _shells;
    private readonly HostMemoryBudget _budget;

    /// <param name="budget">What every VM this invoker runs or keeps takes its guest memory from; unlimited when null
    /// (a pool given here should take from the same budget).</param>
    public Invoker(SnapshotService snapshots, WarmPool? pool = null, ShellPool? shells = null, HostMemoryBudget? budget = null)
    {
        _snapshots = snapshots;
        _budget = budget ?? HostMemoryBudget.Unlimited();
        _shells = shells ?? new ShellPool(budget: _budget);
        _pool = pool ?? new WarmPool();
        // Idle warm VMs give way after pooled shells (the ShellPool registered first): they cost a boot to remake.
        _budget.AddReclaimer(_pool.EvictOne);
    }

    /// <summary>The host memory the VMs of this invoker take their guest memory from.</summary>
    public HostMemoryBudget Budget => _budget;

    public WarmPool Pool => _pool;

    /// <summary>The VM shells restores take (made ahead, outside any timing).</summary>
    public ShellPool Shells => _shells;

    /// <summary>Where this invoker finds its snapshots.</summary>
    public SnapshotService Snapshots => _snapshots;

    /// <summary>When set (the bench), each restored run states how much of its file memory was mapped huge
    /// (<see cref="InvocationResult.FilePmdMappedKb"/>); off by default, since reading smaps costs time.</summary>
    public bool SampleHugePages { get; init; }

    /// <summary>Drops the snapshot's files for <paramref name="mode"/> from the page cache.</summary>
    public void MakeCold(FunctionInfo function, string mode)
    {
        ArgumentNullException.ThrowIfNull(function);
        if (RestoreModes.Get(mode) is IMemoryBackend backend)
            MakeCold(backend.Files(_snapshots.Open(function)));
    }

    private InvocationResult InvokeWarm(InvocationRequest request, MicroVmOptions options, CancellationToken cancel)
    {
        var start = Stopwatch.GetTimestamp();
        var name = request.Function.Name;
        long? booted = null;
        if (!TryAcquireWarm(request.Function, out var warm))
        {
            var reservation = _budget.Reserve(options.MemorySize, $"a warm VM of '{name}'", cancel);
            MicroVm? vm = null;
            try
            {
                vm = _snapshots.Program(request.Function).Boot(options with { Name = name });
                booted = Logs.FunctionLogCapture.DuringInit(options.Output, vm.RunToReady).StoppedAt; // init's lines as init
            }
            catch
            {
                vm?.Dispose();
                reservation.Dispose();
                throw;
            }
            warm = new WarmVm(vm, request.Function.CodePath, reservation);
        }
        GuestRun run;
        try
        {
            using var stop = warm.Vm.StopWhenCancelled(cancel);
            warm.Vm.GuestOutput.Target = options.Output; // a kept VM writes to this request's log
            run = warm.Vm.Invoke(request.Input);
            warm.Vm.GuestOutput.Target = null;
        }
        catch
        {
            warm.Dispose();
            throw;
        }
        var output = warm.Vm.Output(run).ToArray();
        _pool.Release(request.Function.Name, warm);
        Telemetry.InvocationTelemetry.Warm(start, booted, run);
        return OnLiveVm(request.Function.Name, WarmMode.Name, output, start, run, coldStart: booted is not null);
    }

    /// <summary>The result of a run on a VM that was already there (a warm VM, a kept one) or booted for it: no
    /// restore, so no mode counters and nothing read from a page cache.</summary>
    private static InvocationResult OnLiveVm(string function, string mode, byte[] output, long start, GuestRun run, bool coldStart) =>
        Measured(function, mode, output, start, run, new Dictionary<string, double>(), cachedPagesBefore: 0) with { ColdStart = coldStart };

    /// <summary>
    /// The one place an invocation's result takes its timings from its run, whatever served it: restore from
    /// <paramref name="start"/> (the invocation's start, a restore's or a kept VM's turn) to the guest's first
    /// instruction, execute from there to its result, total the two, and the run's timestamps; and its counters with
    /// the run's VM exits.
    /// </summary>
    private static InvocationResult Measured(string function, string mode, byte[] output, long start, GuestRun run,
        IReadOnlyDictionary<string, double> counters, long cachedPagesBefore) => new()
    {
        Function = function,
        Mode = mode,
        Output = output,
        RestoreMs = BootRun.Ms(start, run.EnteredAt),
        ExecuteMs = BootRun.Ms(run.EnteredAt, run.StoppedAt),
        TotalMs = BootRun.Ms(start, run.StoppedAt),
        StartedAt = start,
        StoppedAt = run.StoppedAt,
        CachedPagesBefore = cachedPagesBefore,
        Counters = WithExits(counters, run),
    };

    /// <summary>An idle warm VM booted from the same code as <paramref name="function"/> now; idle ones of an older
    /// version (a redeploy happened while they ran) are stopped on the way.</summary>
    private bool TryAcquireWarm(FunctionInfo function, out WarmVm warm)
    {
        while (_pool.TryAcquire(function.Name, out warm))
        {
            if (warm.Version is null || string.Equals(warm.Version, function.CodePath, StringComparison.Ordinal))
                return true;
            warm.Dispose();
        }
        return false;
    }

    public void Dispose()
    {
        _pool.Dispose();
        _shells.Dispose();
    }

    private static void MakeCold(IEnumerable<string> files)
    {
        foreach (var file in files)
            PageCache.Drop(file);
    }

    /// <summary>The mode's counters and the run's VM exits: a Linux program's system calls, a C guest's hypercalls.</summary>
    private static Dictionary<string, double> WithExits(IReadOnlyDictionary<string, double> counters, GuestRun run) =>
        new(counters) { ["vm_exits"] = run.Exits };

    /// <summary>The snapshot a run of <paramref name="function"/> in <paramref name="mode"/> restores from, with its
    /// memory file leased until it is disposed (a new snapshot taken meanwhile deletes the old file only then);
    /// null for `warm`, which restores nothing.</summary>
    public Snapshot? OpenSnapshot(FunctionInfo function, string mode) =>
        RestoreModes.Get(mode) is IMemoryBackend ? _snapshots.OpenLeased(function) : null;

    /// <summary>Runs one request. <paramref name="cancel"/> stops the guest mid-run (a client that went away, a
    /// daemon that stops): the invocation then fails with <see cref="GuestStoppedException"/>, and its VM is gone.</summary>
    public InvocationResult Invoke(InvocationRequest request, MicroVmOptions options, CancellationToken cancel = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(options);
        cancel.ThrowIfCancellationRequested();
        if (RestoreModes.Get(request.Mode) is not IMemoryBackend backend)
            return InvokeWarm(request, options, cancel);
        if (request.Snapshot is { } resolved)
            return Restore(request.Function, resolved, backend, request.Mode, request.Input, request.Cold, options, keep: false, cancel).Result;
        using var snapshot = _snapshots.OpenLeased(request.Function);
        return Restore(request.Function, snapshot, backend, request.Mode, request.Input, request.Cold, options, keep: false, cancel).Result;
    }

    /// <summary>Runs one request as <paramref name="plan"/> says: on its kept VM, or on a VM restored in its mode (kept
    /// afterwards when the plan says so: <see cref="InvocationPlan.KeepsVm"/>), or, for <c>?mode=warm</c>, on a
    /// booted warm VM. The VM to keep comes back with the result; a VM whose request failed is stopped, never kept.</summary>
    internal (InvocationResult Result, KeptVm? Kept) Run(InvocationPlan plan, MicroVmOptions options, CancellationToken cancel)
    {
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentNullException.ThrowIfNull(options);
        cancel.ThrowIfCancellationRequested();
        var function = plan.Function.Info;
        if (plan.Instance is { } kept)
            return RunKept(plan, kept, options, cancel);
        if (RestoreModes.Get(plan.Mode) is not IMemoryBackend backend)
            return (InvokeWarm(new InvocationRequest(function, plan.Mode, plan.Input, plan.Cold), options, cancel), null);
        if (plan.OpenedSnapshot is { } resolved)
            return Restore(function, resolved, backend, plan.Mode, plan.Input, plan.Cold, options, plan.KeepsVm, cancel);
        using var snapshot = _snapshots.OpenLeased(function);
        return Restore(function, snapshot, backend, plan.Mode, plan.Input, plan.Cold, options, plan.KeepsVm, cancel);
    }

    private static (InvocationResult Result, KeptVm? Kept) RunKept(InvocationPlan plan, KeptVm kept, MicroVmOptions options, CancellationToken cancel)
    {
        var start = Stopwatch.GetTimestamp();
        GuestRun run;
        byte[] output;
        try
        {
            // The kept VM writes to this request's log while it runs this request, and to nothing after.
            (run, output) = kept.Invoke(plan.Input, options.Output, timeline: null, cancel);
        }
        catch
        {
            kept.Dispose();
            throw;
        }
        Telemetry.InvocationTelemetry.Warm(start, booted: null, run);
        return (OnLiveVm(plan.Function.Info.Name, plan.Path.Mode, output, start, run, coldStart: false), kept);
    }

    /// <summary>Restores a VM from <paramref name="snapshot"/> (the caller holds it open and its memory file leased) with
    /// <paramref name="backend"/> and runs one request on it;
    /// <paramref name="label"/> is the mode the result reports. With <paramref name="keep"/>, the VM is not stopped
    /// but handed back (with its share of the budget) for the next request.</summary>
    private (InvocationResult Result, KeptVm? Kept) Restore(FunctionInfo function, Snapshot snapshot, IMemoryBackend backend, string label, byte[] input,
        bool cold, MicroVmOptions options, bool keep, CancellationToken cancel)
    {
        var files = backend.Files(snapshot);
        if (cold)
            MakeCold(files);
        backend.Prepare(snapshot);
        var cachedBefore = files.Sum(f => PageCache.Count(f).Cached);

        // The shell (KVM VM, memory slot, vCPU thread) is made ahead in a daemon; a one-shot CLI makes it here, and
        // either way it is not part of restoring: restore_ms starts after it.
        // The VM's share of the host's memory budget, held until the VM is gone (a kept VM holds it while idle); a
        // pooled shell's share ends when it is taken.
        GuestRun run;
        byte[] output;
        long? filePmdMappedKb = null;
        RestoredMemory memory;
        long start;
        long memoryRestored;
        var timeline = Telemetry.InvocationTelemetry.Enabled ? new RestoreTimeline() : null; // the restore's parts, for its spans
        KeptVm? kept = null;
        var reservation = _budget.Reserve(snapshot.State.MemorySize, $"a VM of '{function.Name}'", cancel);
        try
        {
            var shell = _shells.Take(snapshot.State.MemorySize);
            start = Stopwatch.GetTimestamp();
            try
            {
                memory = backend.Restore(snapshot, shell.Memory);
                memoryRestored = Stopwatch.GetTimestamp();
            }
            catch
            {
                shell.Dispose();
                throw;
            }
            if (keep)
            {
                MicroVm vm;
                try
                {
                    vm = SnapshotRun.Start(snapshot, shell, memory, options with { Name = function.Name });
                }
                catch
                {
                    memory.Dispose();
                    throw;
                }
                timeline?.StateRestored = Stopwatch.GetTimestamp();
                kept = new KeptVm(vm, memory, reservation, function.CodePath, snapshot.State.Id);
                try
                {
                    (run, output) = kept.Invoke(input, options.Output, timeline, cancel);
                }
                catch
                {
                    kept.Dispose();
                    throw;
                }
            }
            else
            {
                using (memory)
                {
                    (run, output) = SnapshotRun.Run(snapshot, shell, memory, input, options with { Name = function.Name }, timeline, cancel);
                    // After the timed run, while the guest's mappings still exist.
                    if (SampleHugePages)
                        filePmdMappedKb = HostMemoryStats.FilePmdMappedKb();
                }
            }
        }
        finally
        {
            if (kept is null)
                reservation.Dispose();
        }
        _shells.Replenish(snapshot.State.MemorySize);
        Telemetry.InvocationTelemetry.Restored(start, memoryRestored, timeline, run);
        var result = Measured(function.Name, label, output, start, run, kept?.Counters ?? memory.Counters, cachedBefore) with
        {
            FilePmdMappedKb = filePmdMappedKb,
            Degraded = (kept?.Degraded ?? memory.Degraded) ?? (cold && cachedBefore > 0
                ? $"the run was asked cold, but {cachedBefore} pages of the mode's files were in the page cache before it (something else maps them?)"
                : null),
        };
        return (result, kept);
    }
}

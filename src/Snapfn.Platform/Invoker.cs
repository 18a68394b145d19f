using System.Diagnostics;
using Snapfn.Snapshots;
using Snapfn.Snapshots.Backends;
using Snapfn.Vmm;

namespace Snapfn.Platform;

/// <summary>An invocation request: which function, how to restore it, and its input.</summary>
public sealed record InvocationRequest(FunctionInfo Function, string Mode, byte[] Input, bool Cold);

/// <summary>Restores a function from its snapshot in the requested mode and runs one request on it.</summary>
public sealed class Invoker
{
    private readonly SnapshotService _snapshots;

    public Invoker(SnapshotService snapshots)
    {
        _snapshots = snapshots;
    }

    public static IReadOnlyCollection<string> Modes => MemoryBackends.Modes;

    /// <summary>Drops the snapshot's files for <paramref name="mode"/> from the page cache.</summary>
    public void MakeCold(FunctionInfo function, string mode)
    {
        if (!MemoryBackends.TryGet(mode, out var backend))
            throw new ArgumentException($"unknown mode '{mode}'; modes: {string.Join(", ", Modes)}");
        MakeCold(backend.Files(_snapshots.Open(function)));
    }

    private static void MakeCold(IEnumerable<string> files)
    {
        foreach (var file in files)
            PageCache.Drop(file);
    }

    public InvocationResult Invoke(InvocationRequest request, MicroVmOptions options)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(options);
        if (!MemoryBackends.TryGet(request.Mode, out var backend))
            throw new ArgumentException($"unknown mode '{request.Mode}'; modes: {string.Join(", ", Modes)}");
        var snapshot = _snapshots.Open(request.Function);
        var files = backend.Files(snapshot);
        if (request.Cold)
            MakeCold(files);
        backend.Prepare(snapshot);
        var cachedBefore = files.Sum(f => PageCache.Count(f).Cached);

        var start = Stopwatch.GetTimestamp();
        using var memory = backend.Restore(snapshot);
        GuestRun run;
        byte[] output;
        using (var vm = MicroVm.Restore(memory.Memory, snapshot.State.Layout, snapshot.State.Vcpu,
                   options with { Name = request.Function.Name }))
        {
            memory.BeforeFirstRun();
            try
            {
                run = vm.Invoke(request.Input);
            }
            finally
            {
                memory.AfterRun();
            }
            output = vm.Output(run).ToArray();
        }
        return new InvocationResult
        {
            Function = request.Function.Name,
            Mode = request.Mode,
            Output = output,
            RestoreMs = BootRun.Ms(start, run.EnteredAt),
            ExecuteMs = BootRun.Ms(run.EnteredAt, run.StoppedAt),
            TotalMs = BootRun.Ms(start, run.StoppedAt),
            CachedPagesBefore = cachedBefore,
            Counters = memory.Counters,
        };
    }
}

using System.Diagnostics;
using Snapfn.Vmm;

namespace Snapfn.Platform;

/// <summary>The result of booting a function and running one request on it.</summary>
public sealed record BootRunResult(string Function, byte[] Output, double BootMs, double InitMs, double ExecuteMs, double TotalMs);

/// <summary>Runs a function the slow way: boot it, run init(), then one request (no snapshot).</summary>
public static class BootRun
{
    public static BootRunResult Run(FunctionInfo function, ReadOnlySpan<byte> input, MicroVmOptions options)
    {
        ArgumentNullException.ThrowIfNull(function);
        ArgumentNullException.ThrowIfNull(options);
        var start = Stopwatch.GetTimestamp();
        using var vm = GuestPrograms.For(function).Boot(options with { Name = function.Name });
        var ready = vm.RunToReady();
        var result = vm.Invoke(input);
        var output = vm.Output(result).ToArray();
        return new BootRunResult(
            function.Name,
            output,
            BootMs: Ms(start, ready.EnteredAt),
            InitMs: Ms(ready.EnteredAt, ready.StoppedAt),
            ExecuteMs: Ms(result.EnteredAt, result.StoppedAt),
            TotalMs: Ms(start, result.StoppedAt));
    }

    public static double Ms(long from, long to) => Stopwatch.GetElapsedTime(from, to).TotalMilliseconds;
}

using Snapfn.Interop;

namespace Snapfn.Vmm;

/// <summary>Which kind of vCPU runs guests in this process.</summary>
public enum CpuKind
{
    /// <summary>KVM (/dev/kvm): the platform's CPU, the only one anything is measured on.</summary>
    Kvm,

    /// <summary>Emulated in software (<see cref="SoftVcpu"/>): guests behave as on KVM, one to two orders of magnitude
    /// slower. For machines without KVM: tests, trying Snapfn out. Never for benchmarks.</summary>
    Soft,
}

/// <summary>
/// The vCPU kind, chosen once per process by <see cref="EnvironmentVariable"/> (<c>kvm</c>, the default, or
/// <c>soft</c>): an explicit choice, so that nobody measures the emulator by accident.
/// </summary>
public static class VirtualCpu
{
    public const string EnvironmentVariable = "SNAPFN_CPU";

    private static readonly Lazy<CpuKind> _selected = new(() => Parse(Environment.GetEnvironmentVariable(EnvironmentVariable)));

    public static CpuKind Selected => _selected.Value;

    /// <summary>Whether guests can run here with the selected vCPU; <paramref name="reason"/> says why not and what to do.</summary>
    public static bool IsAvailable(out string reason)
    {
        if (Selected == CpuKind.Soft)
            return Unicorn.IsLoadable(out reason);
        if (KvmSystem.IsAvailable(out reason))
            return true;
        reason += $" (or set {EnvironmentVariable}=soft to run guests on an emulated CPU: slow, for tests only)";
        return false;
    }

    /// <summary>Throws <see cref="KvmUnavailableException"/> with the reason when guests cannot run here.</summary>
    public static void EnsureAvailable()
    {
        if (!IsAvailable(out var reason))
            throw new KvmUnavailableException(reason);
    }

    /// <summary>How many times longer than its timeout a guest runs on the emulated CPU before the watchdog stops it.</summary>
    public const int SoftTimeoutScale = 5;

    /// <summary>
    /// A guest's timeout (<see cref="MicroVmOptions.Timeout"/>) is a time on KVM; the emulated CPU runs guest code one to
    /// two orders of magnitude slower, and on a loaded 2-core host a Python start-up alone took most of a 60 s limit.
    /// So on it the watchdog waits <see cref="SoftTimeoutScale"/> times as long, and a limit chosen for KVM (a deploy's
    /// syntax check, a function's timeout) keeps its meaning; errors still name the timeout as it was set.
    /// </summary>
    public static TimeSpan WatchdogDelay(TimeSpan timeout)
    {
        if (Selected != CpuKind.Soft || timeout <= TimeSpan.Zero)
            return timeout;
        // A Timer takes at most 0xfffffffe ms.
        var limit = TimeSpan.FromMilliseconds(uint.MaxValue - 1);
        return timeout >= limit / SoftTimeoutScale ? limit : timeout * SoftTimeoutScale;
    }

    /// <summary>Refuses to measure <paramref name="what"/> on the software vCPU: its timings say nothing about Snapfn.</summary>
    public static void RequireKvmToMeasure(string what)
    {
        if (Selected == CpuKind.Soft)
            throw new KvmUnavailableException($"{what} measures KVM micro-VMs, and {EnvironmentVariable}=soft runs guests on an emulated CPU " +
                                              $"whose timings mean nothing: unset {EnvironmentVariable} and run it on a host with /dev/kvm");
    }

    internal static CpuKind Parse(string? value) => value?.Trim().ToLowerInvariant() switch
    {
        null or "" or "kvm" => CpuKind.Kvm,
        "soft" => CpuKind.Soft,
        _ => throw new KvmUnavailableException($"{EnvironmentVariable}={value} is not a vCPU kind: use kvm (the default) or soft"),
    };
}

using System.Diagnostics;
using System.Runtime.InteropServices;
using Snapfn.Interop;
using Snapfn.Linux.Loader;
using Snapfn.Vmm;

namespace Snapfn.Linux.Syscalls;

/// <summary>
/// The guest's CLOCK_MONOTONIC and CLOCK_REALTIME when it has the vDSO, and the data page that serves them:
/// the guest's TSC at the moment of writing, the clocks at that moment and the TSC's rate, so that the guest's
/// clock_gettime is `base + (rdtsc - tsc_base) * mult`. Rewritten before every run and at every system call
/// (the guest is stopped then; one vCPU, so no seqlock). A rewrite never moves time back: the new base is the
/// later of the host's clock and what the old page gives at this TSC, and the trapped clock_gettime answers from
/// the same numbers, so the two paths agree. The rate is re-measured against the host's clock over the VM's
/// whole life, so the page drifts less the longer it runs.
/// </summary>
public sealed unsafe class VdsoClock
{
    private static readonly Lazy<ulong> _calibrated = new(Calibrate);
    private MicroVm? _vm;
    private long _tscOffset;
    private ulong _firstTsc;
    private long _firstMonotonic;
    private ulong _mult;

    /// <summary>Learns the guest's TSC offset from KVM (IA32_TSC read right after the host's TSC).</summary>
    public void Attach(MicroVm vm)
    {
        ArgumentNullException.ThrowIfNull(vm);
        _vm = vm;
        var host = HostTsc.Read();
        var guest = vm.ReadGuestTsc();
        _tscOffset = unchecked((long)(guest - host));
        _firstTsc = HostTsc.Read();
        _firstMonotonic = HostClock.MonotonicNs();
        _mult = _calibrated.Value;
        // A restored VM's page was written by another VM, against another TSC offset: start from the host's clocks.
        vm.Memory.Ref<VdsoData>(Vdso.DataAddress).Valid = 0;
    }

    /// <summary>Rewrites the page; returns what CLOCK_MONOTONIC and CLOCK_REALTIME read now.</summary>
    public (long Monotonic, long Realtime) Refresh()
    {
        if (_vm is null)
            return (HostClock.MonotonicNs(), HostClock.RealtimeNs());
        ref var data = ref _vm.Memory.Ref<VdsoData>(Vdso.DataAddress);
        var tsc = HostTsc.Read();
        var hostMonotonic = HostClock.MonotonicNs();
        var monotonic = hostMonotonic;
        var realtime = HostClock.RealtimeNs();
        var guestTsc = unchecked((ulong)((long)tsc + _tscOffset));
        if (data.Valid == 1 && guestTsc >= data.TscBase)
        {
            var elapsed = (long)(((UInt128)(guestTsc - data.TscBase) * data.TscMult) >> 32);
            monotonic = Math.Max(monotonic, data.MonotonicBaseNs + elapsed);
            realtime = Math.Max(realtime, data.RealtimeBaseNs + elapsed);
        }
        var sinceAttach = hostMonotonic - _firstMonotonic;
        if (sinceAttach > 100_000_000 && tsc > _firstTsc)
            _mult = (ulong)(((UInt128)(ulong)sinceAttach << 32) / (tsc - _firstTsc));
        data.MonotonicBaseNs = monotonic;
        data.RealtimeBaseNs = realtime;
        data.TscBase = guestTsc;
        data.TscMult = _mult;
        data.Valid = 1;
        return (monotonic, realtime);
    }

    /// <summary>ns per TSC tick as a 32.32 fixed-point number, measured once per host process over 20 ms; each VM
    /// refines it over its own life.</summary>
    private static ulong Calibrate()
    {
        var t0 = Stopwatch.GetTimestamp();
        var c0 = HostTsc.Read();
        Thread.Sleep(20);
        var c1 = HostTsc.Read();
        var ns = Stopwatch.GetElapsedTime(t0).Ticks * 100;
        return (ulong)(((UInt128)(ulong)ns << 32) / (c1 - c0));
    }
}

/// <summary>The host's clocks in ns, as the guest's CLOCK_MONOTONIC and CLOCK_REALTIME.</summary>
public static class HostClock
{
    public static long MonotonicNs() => Read(1);

    public static long RealtimeNs() => Read(0);

    private static unsafe long Read(int clock)
    {
        Libc.timespec ts;
        _ = Libc.clock_gettime(clock, &ts);
        return ts.tv_sec * 1_000_000_000 + ts.tv_nsec;
    }
}

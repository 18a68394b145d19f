using System.Diagnostics;
using System.Runtime.InteropServices;
using Snapfn.Interop;
using Snapfn.Linux.Loader;
using Snapfn.Vmm;

namespace Snapfn.Linux.Syscalls;

/// <summary>
/// Keeps the vDSO's data page current: the guest's TSC at the moment of writing, the host's clocks at that
/// moment, and the TSC's rate, so that the guest's clock_gettime is `base + (rdtsc - tsc_base) * mult`. Written
/// before every run and at every system call (the guest is stopped then; one vCPU, so no seqlock).
/// </summary>
public sealed unsafe class VdsoClock
{
    private static readonly delegate* unmanaged<ulong> _rdtsc = HostTsc.Create();
    private static readonly Lazy<ulong> _mult = new(Calibrate);
    private MicroVm? _vm;
    private long _tscOffset;

    /// <summary>Learns the guest's TSC offset from KVM (IA32_TSC read right after the host's TSC).</summary>
    public void Attach(MicroVm vm)
    {
        _vm = vm;
        var host = _rdtsc();
        var guest = vm.ReadGuestTsc();
        _tscOffset = unchecked((long)(guest - host));
    }

    public void Refresh()
    {
        if (_vm is null)
            return;
        ref var data = ref _vm.Memory.Ref<VdsoData>(Vdso.DataAddress);
        var tsc = _rdtsc();
        data.MonotonicBaseNs = HostClock.MonotonicNs();
        data.RealtimeBaseNs = HostClock.RealtimeNs();
        data.TscBase = unchecked((ulong)((long)tsc + _tscOffset));
        data.TscMult = _mult.Value;
        data.Valid = 1;
    }

    /// <summary>ns per TSC tick as a 32.32 fixed-point number, measured once per host process over 20 ms.</summary>
    private static ulong Calibrate()
    {
        var t0 = Stopwatch.GetTimestamp();
        var c0 = _rdtsc();
        Thread.Sleep(20);
        var c1 = _rdtsc();
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

/// <summary>rdtsc for the host: .NET has no intrinsic for it, so a 10-byte function is put in an executable page.</summary>
internal static unsafe class HostTsc
{
    public static delegate* unmanaged<ulong> Create()
    {
        ReadOnlySpan<byte> code = [0x0f, 0x31, 0x48, 0xc1, 0xe2, 0x20, 0x48, 0x09, 0xd0, 0xc3]; // rdtsc; shl rdx,32; or rax,rdx; ret
        var page = Libc.mmap(0, 4096, Libc.PROT_READ | Libc.PROT_WRITE, Libc.MAP_PRIVATE | Libc.MAP_ANONYMOUS, -1, 0);
        if (page == Libc.MAP_FAILED)
            SyscallException.Throw("mmap(rdtsc page)", Marshal.GetLastPInvokeError());
        code.CopyTo(new Span<byte>((void*)page, code.Length));
        SyscallException.Check(Libc.mprotect(page, 4096, Libc.PROT_READ | Libc.PROT_EXEC), "mprotect(rdtsc page)");
        return (delegate* unmanaged<ulong>)page;
    }
}

using System.Diagnostics;
using Snapfn.Linux.Abi;
using static Snapfn.Linux.Syscalls.SyscallArgs;

namespace Snapfn.Linux.Syscalls;

/// <summary>Clocks and sleeps: the host's clocks (also after a restore), through the vDSO's numbers when the
/// program has it; sleeps really wait, in slices, so that the watchdog can stop a sleeping guest.</summary>
internal static class TimeCalls
{
    private const int CLOCK_REALTIME = 0, CLOCK_MONOTONIC = 1, CLOCK_PROCESS_CPUTIME_ID = 2, CLOCK_THREAD_CPUTIME_ID = 3,
        CLOCK_MONOTONIC_RAW = 4, CLOCK_REALTIME_COARSE = 5, CLOCK_MONOTONIC_COARSE = 6, CLOCK_BOOTTIME = 7;

    public static long ClockGettime(LinuxProcess p, in SyscallArgs a)
    {
        var ns = Now(p, AsInt(a.A0));
        if (ns < 0)
            return ns;
        p.User.Write(a.A1, new Kernel.timespec { tv_sec = ns / 1_000_000_000, tv_nsec = ns % 1_000_000_000 });
        return 0;
    }

    public static long ClockGetres(LinuxProcess p, in SyscallArgs a)
    {
        if (Now(p, AsInt(a.A0)) < 0)
            return -Errno.EINVAL;
        if (a.A1 != 0)
            p.User.Write(a.A1, new Kernel.timespec { tv_sec = 0, tv_nsec = 1 });
        return 0;
    }

    public static long Gettimeofday(LinuxProcess p, in SyscallArgs a)
    {
        var ns = p.Clocks().Realtime;
        if (a.A0 != 0)
            p.User.Write(a.A0, new Kernel.timeval { tv_sec = ns / 1_000_000_000, tv_usec = ns % 1_000_000_000 / 1000 });
        if (a.A1 != 0)
            p.User.Write(a.A1, 0UL);
        return 0;
    }

    public static long Time(LinuxProcess p, in SyscallArgs a)
    {
        var seconds = p.Clocks().Realtime / 1_000_000_000;
        if (a.A0 != 0)
            p.User.Write(a.A0, seconds);
        return seconds;
    }

    public static long Nanosleep(LinuxProcess p, in SyscallArgs a)
    {
        if (!TryNanoseconds(p.User.Read<Kernel.timespec>(a.A0), out var ns))
            return -Errno.EINVAL;
        return SleepFor(p, ns);
    }

    public static long ClockNanosleep(LinuxProcess p, in SyscallArgs a)
    {
        const ulong TIMER_ABSTIME = 1;
        if (!TryNanoseconds(p.User.Read<Kernel.timespec>(a.A2), out var ns))
            return Errno.EINVAL; // clock_nanosleep returns the error number, not -1
        if ((a.A1 & TIMER_ABSTIME) != 0)
        {
            var now = Now(p, AsInt(a.A0));
            if (now < 0)
                return Errno.EINVAL;
            ns -= now;
        }
        var result = SleepFor(p, ns);
        return result < 0 ? -result : 0;
    }

    /// <summary>getrusage and times: the guest's time is all user time.</summary>
    public static long Getrusage(LinuxProcess p, in SyscallArgs a)
    {
        var rusage = p.User.Writable(a.A1, 144);
        rusage.Clear();
        var us = (long)p.Uptime.TotalMicroseconds;
        System.Buffers.Binary.BinaryPrimitives.WriteInt64LittleEndian(rusage, us / 1_000_000);
        System.Buffers.Binary.BinaryPrimitives.WriteInt64LittleEndian(rusage[8..], us % 1_000_000);
        return 0;
    }

    /// <summary>A valid timespec (tv_sec ≥ 0, 0 ≤ tv_nsec &lt; 10^9, else EINVAL as Linux) in nanoseconds, saturated at
    /// long.MaxValue: a program asking for centuries sleeps until the watchdog stops it, not for a wrapped few ms.</summary>
    public static bool TryNanoseconds(in Kernel.timespec request, out long ns)
    {
        ns = 0;
        if (request.tv_sec < 0 || request.tv_nsec is < 0 or >= 1_000_000_000)
            return false;
        ns = request.tv_sec > (long.MaxValue - request.tv_nsec) / 1_000_000_000 ? long.MaxValue : request.tv_sec * 1_000_000_000 + request.tv_nsec;
        return true;
    }

    /// <summary>Waits <paramref name="ns"/> on the vCPU thread; -EINTR if the guest is being stopped.</summary>
    public static long SleepFor(LinuxProcess p, long ns)
    {
        var now = Stopwatch.GetTimestamp();
        var ticks = (Int128)Math.Max(ns, 0) * Stopwatch.Frequency / 1_000_000_000;
        var until = ticks > long.MaxValue - now ? long.MaxValue : now + (long)ticks;
        while (true)
        {
            if (p.StopRequested)
                return -Errno.EINTR;
            var left = until - Stopwatch.GetTimestamp();
            if (left <= 0)
                return 0;
            // Slices of at most 50 ms, so that a stop request is seen; `left` may be huge, so compare before multiplying.
            var ms = left >= Stopwatch.Frequency / 20 ? 50 : left * 1000 / Stopwatch.Frequency;
            if (ms > 0)
                Thread.Sleep((int)ms);
            else
                Thread.SpinWait(100);
        }
    }

    private static long Now(LinuxProcess p, int clock) => clock switch
    {
        CLOCK_REALTIME or CLOCK_REALTIME_COARSE => p.Clocks().Realtime,
        CLOCK_MONOTONIC or CLOCK_MONOTONIC_RAW or CLOCK_MONOTONIC_COARSE or CLOCK_BOOTTIME => p.Clocks().Monotonic,
        CLOCK_PROCESS_CPUTIME_ID or CLOCK_THREAD_CPUTIME_ID => (long)(p.Uptime.TotalMilliseconds * 1_000_000),
        _ => -Errno.EINVAL,
    };
}

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
        var clock = AsInt(a.A0);
        if (CpuClocks.IsCpuClock(clock) ? !CpuClocks.Find(p, clock, forGettime: false, out _) : Now(p, clock) < 0)
            return -Errno.EINVAL;
        if (a.A1 != 0)
            p.User.Write(a.A1, new Kernel.timespec { tv_sec = 0, tv_nsec = CpuClocks.IsCpuClock(clock) ? CpuClocks.Resolution(clock) : 1 });
        return 0;
    }

    /// <summary>clock_settime: the program has no CAP_SYS_TIME (capget says so), so setting CLOCK_REALTIME or a CPU
    /// clock is EPERM once the arguments are valid; a clock Linux cannot set at all (MONOTONIC, BOOTTIME, the coarse
    /// and alarm clocks, CLOCK_PROCESS/THREAD_CPUTIME_ID) is EINVAL, as is a file descriptor's clock (no PTP devices).</summary>
    public static long ClockSettime(LinuxProcess p, in SyscallArgs a)
    {
        var clock = AsInt(a.A0);
        var cpu = CpuClocks.IsCpuClock(clock) && clock < 0;
        if (clock != CLOCK_REALTIME && !cpu && !CpuClocks.IsFdClock(clock))
            return -Errno.EINVAL;
        var value = p.User.Read<Kernel.timespec>(a.A1);
        if (CpuClocks.IsFdClock(clock) || (cpu && !CpuClocks.Find(p, clock, forGettime: false, out _)))
            return -Errno.EINVAL;
        return cpu || IsSettableTime(value) ? -Errno.EPERM : -Errno.EINVAL;
    }

    /// <summary>settimeofday: EFAULT and EINVAL for its arguments as Linux checks them (it takes tv_usec = 10^6 before
    /// its own range check refuses it), then EPERM: no CAP_SYS_TIME, even with both pointers NULL.</summary>
    public static long Settimeofday(LinuxProcess p, in SyscallArgs a)
    {
        if (a.A0 != 0)
        {
            var tv = p.User.Read<Kernel.timeval>(a.A0);
            if (tv.tv_usec is < 0 or > 1_000_000 || !IsSettableTime(new Kernel.timespec { tv_sec = tv.tv_sec, tv_nsec = tv.tv_usec * 1000 }))
                return -Errno.EINVAL;
        }
        if (a.A1 != 0)
            _ = p.User.Read<ulong>(a.A1); // struct timezone: two ints
        return -Errno.EPERM;
    }

    /// <summary>Linux's timespec64_valid_settod: a valid timespec no later than the year 2232 (KTIME_SEC_MAX less 30 years of uptime).</summary>
    private static bool IsSettableTime(in Kernel.timespec t) =>
        t.tv_sec is >= 0 and < 9_223_372_036L - 30L * 365 * 86400 && t.tv_nsec is >= 0 and < 1_000_000_000;

    /// <summary>adjtimex: <see cref="Adjust"/> on CLOCK_REALTIME.</summary>
    public static long Adjtimex(LinuxProcess p, in SyscallArgs a) => Adjust(p, a.A0);

    /// <summary>clock_adjtime: CLOCK_REALTIME as adjtimex; every other clock Linux knows has no adjustment
    /// (EOPNOTSUPP), an unknown one is EINVAL.</summary>
    public static long ClockAdjtime(LinuxProcess p, in SyscallArgs a)
    {
        var clock = AsInt(a.A0);
        if (clock == CLOCK_REALTIME)
            return Adjust(p, a.A1);
        _ = p.User.Readable(a.A1, TimexSize);
        if (CpuClocks.IsFdClock(clock))
            return -Errno.EINVAL;
        return CpuClocks.IsCpuClock(clock) || Now(p, clock) >= 0 ? -Errno.EOPNOTSUPP : -Errno.EINVAL;
    }

    /// <summary>sizeof(struct timex) on x86-64.</summary>
    private const int TimexSize = 208;

    /// <summary>
    /// The NTP query and adjustment of struct timex. Without CAP_SYS_TIME a program may only read: modes 0 (or
    /// ADJ_OFFSET_SS_READ); any other mode is EPERM. The state read is that of a clock no NTP daemon disciplines, as
    /// a Linux that never ran one reports: STA_UNSYNC, maximum errors, no frequency offset, HZ ticks; the result is
    /// TIME_ERROR (the clock is not synchronised). Mode bits Linux rejects outright are EINVAL first, as there.
    /// </summary>
    private static long Adjust(LinuxProcess p, ulong address)
    {
        const uint ADJ_ADJTIME = 0x8000, ADJ_OFFSET_SINGLESHOT = 0x0001, ADJ_OFFSET_READONLY = 0x2000;
        const int STA_UNSYNC = 0x40, TIME_ERROR = 5;
        const long NTP_PHASE_LIMIT = 16_000_000, MaxFreqScaledPpm = 500L << 16, TickUs = 10_000;
        var buffer = p.User.Readable(address, TimexSize);
        var modes = System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(buffer);
        if ((modes & ADJ_ADJTIME) != 0)
        {
            if ((modes & ADJ_OFFSET_SINGLESHOT) == 0)
                return -Errno.EINVAL;
            if ((modes & ADJ_OFFSET_READONLY) == 0)
                return -Errno.EPERM;
        }
        else if (modes != 0)
        {
            return -Errno.EPERM;
        }
        var timex = p.User.Writable(address, TimexSize);
        var now = p.Clock.Realtime;
        static void Put(Span<byte> timex, int offset, long value) => System.Buffers.Binary.BinaryPrimitives.WriteInt64LittleEndian(timex[offset..], value);
        timex[8..].Clear(); // every field after modes (offset, freq, PPS counters, tai) is zero but those below
        Put(timex, 24, NTP_PHASE_LIMIT);          // maxerror, µs
        Put(timex, 32, NTP_PHASE_LIMIT);          // esterror, µs
        System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(timex[40..], STA_UNSYNC);
        Put(timex, 48, 2);                        // constant: Linux's initial time constant
        Put(timex, 56, 1);                        // precision, µs
        Put(timex, 64, MaxFreqScaledPpm);         // tolerance
        Put(timex, 72, now / 1_000_000_000);      // time.tv_sec
        Put(timex, 80, now % 1_000_000_000 / 1000); // time.tv_usec (no STA_NANO)
        Put(timex, 88, TickUs);                   // tick
        return TIME_ERROR;
    }

    public static long Gettimeofday(LinuxProcess p, in SyscallArgs a)
    {
        var ns = p.Clock.Realtime;
        if (a.A0 != 0)
            p.User.Write(a.A0, new Kernel.timeval { tv_sec = ns / 1_000_000_000, tv_usec = ns % 1_000_000_000 / 1000 });
        if (a.A1 != 0)
            p.User.Write(a.A1, 0UL);
        return 0;
    }

    public static long Time(LinuxProcess p, in SyscallArgs a)
    {
        var seconds = p.Clock.Realtime / 1_000_000_000;
        if (a.A0 != 0)
            p.User.Write(a.A0, seconds);
        return seconds;
    }

    /// <summary>nanosleep: sleeps the time asked; a timer's signal ends it early with EINTR and the time left in
    /// <c>rem</c>, as on Linux.</summary>
    public static long Nanosleep(LinuxProcess p, in SyscallArgs a)
    {
        if (!TryNanoseconds(p.User.Read<Kernel.timespec>(a.A0), out var ns))
            return -Errno.EINVAL;
        return Sleep(p, ns, a.A1);
    }

    /// <summary>clock_nanosleep: as nanosleep on the given clock, or until an absolute time with TIMER_ABSTIME. Its
    /// errors are negated errnos like every system call's (glibc's wrapper is what returns them positive: a positive
    /// result here read as success, so a sleep a signal interrupted looked complete). As Linux: the clocks without a
    /// sleep (MONOTONIC_RAW, the coarse ones, CLOCK_THREAD_CPUTIME_ID) are EOPNOTSUPP (glibc answers EINVAL itself for
    /// CLOCK_THREAD_CPUTIME_ID), the caller's own thread clock EINVAL; a CPU clock waits for its CPU time.</summary>
    public static long ClockNanosleep(LinuxProcess p, in SyscallArgs a)
    {
        const ulong TIMER_ABSTIME = 1;
        var clock = AsInt(a.A0);
        // A file descriptor's clock (posix_clock) has no sleep either, whichever descriptor it names.
        if (clock is CLOCK_THREAD_CPUTIME_ID or CLOCK_MONOTONIC_RAW or CLOCK_REALTIME_COARSE or CLOCK_MONOTONIC_COARSE || CpuClocks.IsFdClock(clock))
            return -Errno.EOPNOTSUPP;
        if (Now(p, clock) is var now && now < 0 && !CpuClocks.IsCpuClock(clock))
            return -Errno.EINVAL;
        if (!TryNanoseconds(p.User.Read<Kernel.timespec>(a.A2), out var ns))
            return -Errno.EINVAL;
        var absolute = (a.A1 & TIMER_ABSTIME) != 0;
        if (CpuClocks.IsCpuClock(clock))
            return CpuSleep(p, clock, ns, absolute, absolute ? 0 : a.A3);
        if (absolute)
            ns -= now;
        return Sleep(p, ns, absolute ? 0 : a.A3);
    }

    /// <summary>A sleep until a CPU clock (the process's, or another thread's) has counted the time asked. The clock
    /// moves only while another thread runs, so it waits as a retry with, as deadline, the earliest moment the time
    /// could be reached (CPU time never runs faster than the wall clock), and looks again; with no other thread it
    /// could never end, as on Linux (Waits.Block stops such a program unless a timer's signal can end the wait).</summary>
    private static long CpuSleep(LinuxProcess p, int clock, long ns, bool absolute, ulong remainingAddress)
    {
        if (CpuClocks.IsCallersThreadClock(p, clock) || !CpuClocks.Find(p, clock, forGettime: false, out var thread))
            return -Errno.EINVAL;
        var caller = p.Threads.Current;
        var target = absolute ? ns : caller.CallCpuTarget ?? Later(CpuClocks.Nanoseconds(p, thread), ns);
        while (true)
        {
            var left = target - CpuClocks.Nanoseconds(p, thread);
            if (left <= 0)
                return 0;
            caller.CallCpuTarget = target;
            caller.CallDeadline = null; // each look waits anew for the CPU time still missing
            var woken = Waits.Block(p, p.Threads.Multiple ? left : Waits.Forever, "sleeps on a CPU-time clock that no other thread can advance");
            if (woken == 0)
                continue;
            if (woken == -Waits.ERESTARTSYS && remainingAddress != 0)
            {
                left = Math.Max(0, target - CpuClocks.Nanoseconds(p, thread));
                p.User.Write(remainingAddress, new Kernel.timespec { tv_sec = left / 1_000_000_000, tv_nsec = left % 1_000_000_000 });
            }
            return woken == -Waits.ERESTARTSYS ? -Errno.EINTR : woken;
        }
    }

    private static long Sleep(LinuxProcess p, long ns, ulong remainingAddress)
    {
        var start = p.Clock.Monotonic;
        var woken = Waits.Block(p, Math.Max(ns, 0), "sleeps");
        if (woken == 0)
            return 0;
        if (woken == -Waits.ERESTARTSYS && remainingAddress != 0)
        {
            var left = Math.Max(0, ns - (p.Clock.Monotonic - start));
            p.User.Write(remainingAddress, new Kernel.timespec { tv_sec = left / 1_000_000_000, tv_nsec = left % 1_000_000_000 });
        }
        return woken == -Waits.ERESTARTSYS ? -Errno.EINTR : woken;
    }

    /// <summary>The program's CPU time: its time in the VM less the time it spent waiting in system calls (sleeps,
    /// polls, timers), all of it counted as user time.</summary>
    internal static long CpuNanoseconds(LinuxProcess p) => Math.Max(0, (long)(p.Uptime.TotalMilliseconds * 1_000_000) - p.WaitedNs);

    /// <summary>getrusage: RUSAGE_SELF is the program's CPU time, RUSAGE_THREAD the calling thread's (all user time),
    /// and, as the maximum resident size, what it has mapped; RUSAGE_CHILDREN is zero (no children).</summary>
    public static long Getrusage(LinuxProcess p, in SyscallArgs a)
    {
        const int RUSAGE_SELF = 0, RUSAGE_CHILDREN = -1, RUSAGE_THREAD = 1;
        var who = AsInt(a.A0);
        if (who is not (RUSAGE_SELF or RUSAGE_CHILDREN or RUSAGE_THREAD))
            return -Errno.EINVAL;
        var rusage = p.User.Writable(a.A1, 144);
        rusage.Clear();
        if (who == RUSAGE_CHILDREN)
            return 0;
        var us = (who == RUSAGE_THREAD ? p.Threads.CpuNanoseconds(p.Threads.Current) : CpuNanoseconds(p)) / 1000;
        System.Buffers.Binary.BinaryPrimitives.WriteInt64LittleEndian(rusage, us / 1_000_000);
        System.Buffers.Binary.BinaryPrimitives.WriteInt64LittleEndian(rusage[8..], us % 1_000_000);
        var mapped = p.Space.Mappings.Aggregate(0UL, (sum, m) => sum + m.Length);
        System.Buffers.Binary.BinaryPrimitives.WriteInt64LittleEndian(rusage[32..], (long)(mapped / 1024)); // ru_maxrss, KiB
        return 0;
    }

    /// <summary>times: CPU time in clock ticks (USER_HZ 100), all user time; the result is ticks since the VM started.</summary>
    public static long Times(LinuxProcess p, in SyscallArgs a)
    {
        const long TicksPerSecond = 100;
        if (a.A0 != 0)
            p.User.Write(a.A0, new Kernel.tms { tms_utime = CpuNanoseconds(p) / (1_000_000_000 / TicksPerSecond) });
        return (long)(p.Uptime.TotalSeconds * TicksPerSecond);
    }

    public static long Getitimer(LinuxProcess p, in SyscallArgs a)
    {
        if (a.A0 > 2)
            return -Errno.EINVAL;
        p.User.Write(a.A1, ToItimerval(p, p.Timers.Interval((int)a.A0)));
        return 0;
    }

    /// <summary>setitimer: ITIMER_REAL raises SIGALRM, ITIMER_VIRTUAL SIGVTALRM, ITIMER_PROF SIGPROF, all three on the
    /// program's monotonic clock (a guest's time is all its own).</summary>
    public static long Setitimer(LinuxProcess p, in SyscallArgs a)
    {
        if (a.A0 > 2)
            return -Errno.EINVAL;
        var value = p.User.Read<Kernel.itimerval>(a.A1);
        if (!TryNanoseconds(value.it_value, out var first) || !TryNanoseconds(value.it_interval, out var interval))
            return -Errno.EINVAL;
        var timer = p.Timers.Interval((int)a.A0);
        if (a.A2 != 0)
            p.User.Write(a.A2, ToItimerval(p, timer));
        ProcessTimers.Arm(timer, first == 0 ? 0 : Later(p.Clock.Monotonic, first), interval);
        return 0;
    }

    /// <summary>alarm: ITIMER_REAL once, in seconds; returns the seconds that were left of the last one (rounded as
    /// Linux's: half a second and more up, and never 0 for a timer still armed).</summary>
    public static long Alarm(LinuxProcess p, in SyscallArgs a)
    {
        var timer = p.Timers.Interval(0);
        var left = Remaining(p, timer);
        var seconds = (left + 500_000_000) / 1_000_000_000;
        if (seconds == 0 && left > 0)
            seconds = 1;
        var asked = (long)(uint)a.A0;
        ProcessTimers.Arm(timer, asked == 0 ? 0 : Later(p.Clock.Monotonic, asked * 1_000_000_000), 0);
        return seconds;
    }

    private static bool TryNanoseconds(in Kernel.timeval tv, out long ns)
    {
        ns = 0;
        if (tv.tv_sec < 0 || tv.tv_usec is < 0 or >= 1_000_000)
            return false;
        return TryNanoseconds(new Kernel.timespec { tv_sec = tv.tv_sec, tv_nsec = tv.tv_usec * 1000 }, out ns);
    }

    private static Kernel.itimerval ToItimerval(LinuxProcess p, ProcessTimers.Timer timer)
    {
        var left = Remaining(p, timer);
        return new Kernel.itimerval
        {
            it_value = new Kernel.timeval { tv_sec = left / 1_000_000_000, tv_usec = (left % 1_000_000_000 + 999) / 1000 },
            it_interval = new Kernel.timeval { tv_sec = timer.Interval / 1_000_000_000, tv_usec = (timer.Interval % 1_000_000_000 + 999) / 1000 },
        };
    }

    /// <summary>Time left before the timer's next expiry; a timer due but not yet fired has 1 ns left, as Linux's.</summary>
    private static long Remaining(LinuxProcess p, ProcessTimers.Timer timer) =>
        timer.Armed ? Math.Max(1, timer.Expiry - p.Clock.Monotonic) : 0;

    private static long Later(long now, long ns) => ns > long.MaxValue - now ? long.MaxValue : now + ns;

    public static long TimerCreate(LinuxProcess p, in SyscallArgs a)
    {
        const int SIGEV_SIGNAL = 0, SIGEV_NONE = 1, SIGEV_THREAD_ID = 4;
        var clock = AsInt(a.A0);
        if (clock is not (CLOCK_REALTIME or CLOCK_MONOTONIC or CLOCK_PROCESS_CPUTIME_ID or CLOCK_THREAD_CPUTIME_ID or CLOCK_BOOTTIME or 8 or 9))
            return -Errno.EINVAL;
        int signal = ProcessTimers.SIGALRM;
        ulong? value = null;
        if (a.A1 != 0)
        {
            var e = p.User.Read<Kernel.sigevent>(a.A1);
            switch (e.sigev_notify)
            {
                case SIGEV_NONE:
                    signal = 0;
                    break;
                case SIGEV_SIGNAL:
                case SIGEV_THREAD_ID when e.sigev_notify_thread_id == LinuxProcess.Pid:
                    if (!SignalState.IsValid(e.sigev_signo))
                        return -Errno.EINVAL;
                    signal = e.sigev_signo;
                    break;
                default:
                    return -Errno.EINVAL; // SIGEV_THREAD is glibc's (a thread of its own); another thread id is none of ours
            }
            value = e.sigev_value;
        }
        _ = p.User.Writable(a.A2, 4);
        var timer = p.Timers.CreatePosix(signal, value, clock);
        if (timer is null)
            return -Errno.EAGAIN;
        p.User.Write(a.A2, timer.Id);
        return 0;
    }

    /// <summary>timer_settime: relative, or absolute (TIMER_ABSTIME) on the timer's own clock; an absolute time
    /// already past fires at once.</summary>
    public static long TimerSettime(LinuxProcess p, in SyscallArgs a)
    {
        const ulong TIMER_ABSTIME = 1;
        if (p.Timers.Posix(AsInt(a.A0)) is not { } timer)
            return -Errno.EINVAL;
        var value = p.User.Read<Kernel.itimerspec>(a.A2);
        if (!TryNanoseconds(value.it_value, out var first) || !TryNanoseconds(value.it_interval, out var interval))
            return -Errno.EINVAL;
        if (a.A3 != 0)
            p.User.Write(a.A3, ToItimerspec(p, timer));
        var now = p.Clock.Monotonic;
        if (first != 0 && (a.A1 & TIMER_ABSTIME) != 0)
            first = Math.Max(1, first - Now(p, timer.ClockId));
        ProcessTimers.Arm(timer, first == 0 ? 0 : Later(now, first), interval);
        return 0;
    }

    public static long TimerGettime(LinuxProcess p, in SyscallArgs a)
    {
        if (p.Timers.Posix(AsInt(a.A0)) is not { } timer)
            return -Errno.EINVAL;
        p.User.Write(a.A1, ToItimerspec(p, timer));
        return 0;
    }

    public static long TimerGetoverrun(LinuxProcess p, in SyscallArgs a) =>
        p.Timers.Posix(AsInt(a.A0)) is { } timer ? timer.Overrun : -Errno.EINVAL;

    public static long TimerDelete(LinuxProcess p, in SyscallArgs a) => p.Timers.DeletePosix(AsInt(a.A0)) ? 0 : -Errno.EINVAL;

    private static Kernel.itimerspec ToItimerspec(LinuxProcess p, ProcessTimers.Timer timer)
    {
        var left = Remaining(p, timer);
        return new Kernel.itimerspec
        {
            it_value = new Kernel.timespec { tv_sec = left / 1_000_000_000, tv_nsec = left % 1_000_000_000 },
            it_interval = new Kernel.timespec { tv_sec = timer.Interval / 1_000_000_000, tv_nsec = timer.Interval % 1_000_000_000 },
        };
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
        CLOCK_REALTIME or CLOCK_REALTIME_COARSE or 8 /* CLOCK_REALTIME_ALARM */ => p.Clock.Realtime,
        CLOCK_MONOTONIC or CLOCK_MONOTONIC_RAW or CLOCK_MONOTONIC_COARSE or CLOCK_BOOTTIME or 9 /* CLOCK_BOOTTIME_ALARM */ => p.Clock.Monotonic,
        _ when CpuClocks.IsCpuClock(clock) => CpuClocks.Find(p, clock, forGettime: true, out var thread) ? CpuClocks.Nanoseconds(p, thread) : -Errno.EINVAL,
        _ => -Errno.EINVAL,
    };
}

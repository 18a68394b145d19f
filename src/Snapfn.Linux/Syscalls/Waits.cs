using Snapfn.Linux.Threads;

namespace Snapfn.Linux.Syscalls;

/// <summary>
/// How a call that has to wait (a read of an empty pipe, a poll with nothing ready) waits. With other threads alive,
/// the running thread leaves the vCPU (<see cref="ThreadBlockedException"/>, a <see cref="WaitKind.Retry"/> wait) and
/// its call is served again when another thread has completed a call, its deadline passed or a signal came. With
/// one thread, the program is the only one that could make a pipe readable or an eventfd non-zero, and it is stopped
/// in this call: so nothing it waits for can happen, except what time brings (a timeout, a timer's signal). A wait
/// with a timeout sleeps it; a wait without one ends in the signal of the next armed timer, or, with none armed,
/// would last forever — where Linux would hang until killed, Snapfn stops the program at once and says why.
/// </summary>
internal static class Waits
{
    /// <summary>The kernel's own "interrupted: restart me if the handler has SA_RESTART", never returned to a program:
    /// signal delivery turns it into EINTR or runs the call again.</summary>
    public const int ERESTARTSYS = 512;

    /// <summary>A wait with no timeout.</summary>
    public const long Forever = -1;

    /// <summary>
    /// Waits up to <paramref name="timeoutNs"/> (<see cref="Forever"/>: no limit). 0 when the timeout passed;
    /// -ERESTARTSYS when a signal became deliverable first (the caller returns it, and delivery makes it EINTR or a
    /// restart); -EINTR when the guest is being stopped. Throws <see cref="ProgramDeadlockException"/> naming
    /// <paramref name="what"/> when nothing could ever end the wait. Blocked signals in <paramref name="alsoWakeOn"/>
    /// end it too (rt_sigtimedwait waits for signals it blocks).
    /// </summary>
    public static long Block(LinuxProcess p, long timeoutNs, string what, ulong alsoWakeOn = 0)
    {
        var now = p.Clock.Monotonic;
        var thread = p.Threads.Current;
        // A call served again after a retry keeps the deadline of its first attempt.
        var deadline = thread.CallDeadline ?? (timeoutNs < 0 ? long.MaxValue : timeoutNs > long.MaxValue - now ? long.MaxValue : now + timeoutNs);
        if (p.Threads.Multiple)
        {
            if (p.Signals.HasDeliverable || (p.Signals.Pending & alsoWakeOn) != 0)
                return -ERESTARTSYS;
            if (now >= deadline)
                return 0;
            thread.CallDeadline = deadline;
            throw new ThreadBlockedException(new ThreadWait(WaitKind.Retry, what, deadline, AlsoWakeOn: alsoWakeOn));
        }
        while (true)
        {
            if (p.Signals.HasDeliverable || (p.Signals.Pending & alsoWakeOn) != 0)
                return -ERESTARTSYS;
            // Only a timer whose signal would end the wait counts: one whose signal is blocked or ignored cannot.
            var wakers = ~p.Signals.Mask | alsoWakeOn;
            var timer = p.Timers.NextExpiry(signal => (wakers & SignalState.Bit(signal)) != 0 && !p.Signals.IsIgnored(signal));
            if (timer is null && deadline == long.MaxValue)
                throw new ProgramDeadlockException(what);
            var wake = Math.Min(deadline, timer ?? long.MaxValue);
            now = p.Clock.Monotonic;
            if (now >= deadline)
                return 0;
            // Always through the clock, even for no time at all: that is where a stop of the guest is seen.
            var slept = p.Clock.Sleep(Math.Max(0, wake - now));
            p.WaitedNs += Math.Max(0, p.Clock.Monotonic - now);
            if (slept < 0)
                return slept;
            p.Timers.Expire(p);
        }
    }

    /// <summary>A timeout in milliseconds as poll and epoll_wait take it (negative: forever) in nanoseconds.</summary>
    public static long FromMilliseconds(int ms) => ms < 0 ? Forever : ms * 1_000_000L;
}

using Snapfn.Linux.Abi;
using Snapfn.Linux.Threads;

namespace Snapfn.Linux.Syscalls;

/// <summary>
/// The CPU-time clocks: CLOCK_PROCESS_CPUTIME_ID, CLOCK_THREAD_CPUTIME_ID and the ids clock_getcpuclockid and
/// pthread_getcpuclockid build, Linux's <c>(~pid &lt;&lt; 3) | perthread 4 | which</c> (which: 0 PROF, 1 VIRT,
/// 2 SCHED; pid 0 is the caller). All three kinds read the same time: the layer counts all CPU time as user time.
/// A thread's time is the process's time counted while it held the vCPU (<see cref="ThreadScheduler"/> charges it
/// at each switch), so the threads' times add up to the process's.
/// </summary>
internal static class CpuClocks
{
    private const int CLOCK_PROCESS_CPUTIME_ID = 2, CLOCK_THREAD_CPUTIME_ID = 3;
    private const int CPUCLOCK_PERTHREAD_MASK = 4, CPUCLOCK_CLOCK_MASK = 3, CPUCLOCK_SCHED = 2, CPUCLOCK_MAX = 3;

    /// <summary>The low bits of a negative id that names a clock of a file descriptor (a PTP device), not CPU time.</summary>
    private const int CLOCKFD = 3;

    /// <summary>Linux's tick (Debian's CONFIG_HZ 250): the resolution it reports for the PROF and VIRT CPU clocks.</summary>
    private const long TickNs = 1_000_000_000 / 250;

    /// <summary>True for an id that names CPU time (valid or not: <see cref="Find"/> says whose).</summary>
    public static bool IsCpuClock(int id) => id is CLOCK_PROCESS_CPUTIME_ID or CLOCK_THREAD_CPUTIME_ID || (id < 0 && (id & 7) != CLOCKFD);

    /// <summary>True for a negative id naming a file descriptor's clock (none exist here: no PTP devices).</summary>
    public static bool IsFdClock(int id) => id < 0 && (id & 7) == CLOCKFD;

    /// <summary>
    /// Whose CPU time <paramref name="id"/> reads: false (EINVAL, as Linux, which glibc's clock_getcpuclockid turns into
    /// ESRCH) for a thread not in this process or a pid that is not the process. <paramref name="thread"/> is null for
    /// the process. As Linux's pid_for_clock, clock_gettime also takes the calling thread's own tid as its process.
    /// </summary>
    public static bool Find(LinuxProcess p, int id, bool forGettime, out GuestThread? thread)
    {
        thread = null;
        if (id == CLOCK_PROCESS_CPUTIME_ID)
            return true;
        if (id == CLOCK_THREAD_CPUTIME_ID)
        {
            thread = p.Threads.Current;
            return true;
        }
        if ((id & CPUCLOCK_CLOCK_MASK) >= CPUCLOCK_MAX)
            return false;
        var pid = ~(id >> 3);
        var perThread = (id & CPUCLOCK_PERTHREAD_MASK) != 0;
        if (perThread)
        {
            thread = pid == 0 ? p.Threads.Current : p.Threads.Find(pid);
            return thread is not null;
        }
        return pid is 0 or LinuxProcess.Pid || (forGettime && pid == p.Threads.Current.Tid);
    }

    /// <summary>True for a per-thread id naming the calling thread itself (clock_nanosleep refuses it: EINVAL).</summary>
    public static bool IsCallersThreadClock(LinuxProcess p, int id) =>
        id < 0 && (id & CPUCLOCK_PERTHREAD_MASK) != 0 && ~(id >> 3) is var pid && (pid == 0 || pid == p.Threads.Current.Tid);

    /// <summary>The CPU time of <paramref name="thread"/>, or of the process when it is null.</summary>
    public static long Nanoseconds(LinuxProcess p, GuestThread? thread) =>
        thread is null ? TimeCalls.CpuNanoseconds(p) : p.Threads.CpuNanoseconds(thread);

    /// <summary>clock_getres of a CPU clock as Linux reports it: 1 ns for SCHED (and the two fixed ids), a tick for
    /// PROF and VIRT.</summary>
    public static long Resolution(int id) => id >= 0 || (id & CPUCLOCK_CLOCK_MASK) == CPUCLOCK_SCHED ? 1 : TickNs;
}

using System.Security.Cryptography;
using System.Text;
using Snapfn.Linux.Abi;
using Snapfn.Linux.Memory;
using Snapfn.Linux.Threads;
using static Snapfn.Linux.Syscalls.SyscallArgs;

namespace Snapfn.Linux.Syscalls;

/// <summary>The process and its identity: exit_group, ids, uname, limits, arch_prctl, randomness (threads: <see cref="ThreadCalls"/>).</summary>
internal static class ProcessCalls
{
    private const int ARCH_SET_GS = 0x1001, ARCH_SET_FS = 0x1002, ARCH_GET_FS = 0x1003, ARCH_GET_GS = 0x1004;

    public static long ExitGroup(LinuxProcess p, in SyscallArgs a)
    {
        p.Terminate(new ProgramExit(AsInt(a.A0) & 0xff, null, null));
        return 0;
    }

    public static long Getpid(LinuxProcess p, in SyscallArgs a) => LinuxProcess.Pid;

    public static long Getppid(LinuxProcess p, in SyscallArgs a) => 0;

    /// <summary>getuid, getgid and the effective ids: the program is root inside its VM (it owns nothing outside).</summary>
    public static long Zero(LinuxProcess p, in SyscallArgs a) => 0;

    /// <summary>setresuid and setresgid(r, e, s): the program's identity is fixed (as setuid's): -1 or 0, the ids it
    /// has, succeed and change nothing; any other id is EPERM.</summary>
    public static long Setresid(LinuxProcess p, in SyscallArgs a) =>
        (uint)a.A0 is 0 or uint.MaxValue && (uint)a.A1 is 0 or uint.MaxValue && (uint)a.A2 is 0 or uint.MaxValue ? 0 : -Errno.EPERM;

    /// <summary>NGROUPS_MAX: the most supplementary groups a process has.</summary>
    public const int MaxGroups = 65536;

    /// <summary>getgroups(size, list): the groups setgroups gave; size 0 asks how many, a smaller size is EINVAL.</summary>
    public static long Getgroups(LinuxProcess p, in SyscallArgs a)
    {
        var size = (int)a.A0;
        if (size < 0)
            return -Errno.EINVAL;
        if (size == 0)
            return p.Groups.Count;
        if (size < p.Groups.Count)
            return -Errno.EINVAL;
        for (var i = 0; i < p.Groups.Count; i++)
            p.User.Write(a.A1 + (ulong)i * 4, p.Groups[i]);
        return p.Groups.Count;
    }

    /// <summary>setgroups(size, list): as root may, any ids up to NGROUPS_MAX (EINVAL past it, or for -1); they change
    /// what getgroups answers and nothing else (the program's accesses are root's).</summary>
    public static long Setgroups(LinuxProcess p, in SyscallArgs a)
    {
        if (a.A0 > MaxGroups)
            return -Errno.EINVAL;
        var groups = a.A0 == 0 ? [] : System.Runtime.InteropServices.MemoryMarshal.Cast<byte, uint>(p.User.Readable(a.A1, a.A0 * 4)).ToArray();
        if (groups.Contains(uint.MaxValue))
            return -Errno.EINVAL;
        Array.Sort(groups); // Linux keeps them sorted, and getgroups answers in that order
        p.Groups = groups;
        return 0;
    }

    public static long Getresid(LinuxProcess p, in SyscallArgs a)
    {
        p.User.Write(a.A0, 0u);
        p.User.Write(a.A1, 0u);
        p.User.Write(a.A2, 0u);
        return 0;
    }

    public static long Uname(LinuxProcess p, in SyscallArgs a)
    {
        var buffer = p.User.Writable(a.A0, 6 * 65);
        buffer.Clear();
        string[] fields = ["Linux", "snapfn", "6.1.0-snapfn", "#1 SMP Snapfn micro-VM", "x86_64", "(none)"];
        for (var i = 0; i < fields.Length; i++)
            Encoding.ASCII.GetBytes(fields[i], buffer[(i * 65)..]);
        return 0;
    }

    public static long Sysinfo(LinuxProcess p, in SyscallArgs a)
    {
        var used = p.Space.Mappings.Aggregate(0UL, (sum, m) => sum + m.Length);
        p.User.Write(a.A0, new Kernel.sysinfo
        {
            uptime = (long)p.Uptime.TotalSeconds,
            totalram = p.MemorySize,
            freeram = p.MemorySize > used ? p.MemorySize - used : 0,
            procs = 1,
            mem_unit = 1,
        });
        return 0;
    }

    private const uint LINUX_CAPABILITY_VERSION_1 = 0x19980330, LINUX_CAPABILITY_VERSION_2 = 0x20071026,
        LINUX_CAPABILITY_VERSION_3 = 0x20080522;

    /// <summary>
    /// capget(header, data): the program holds no capability (effective, permitted and inheritable are empty), as
    /// PR_CAPBSET_READ says of its bounding set: root inside the VM, but nothing a capability would let it do exists
    /// there. Node asks at start whether it holds CAP_NET_BIND_SERVICE alone. Linux's version handshake: an unknown
    /// version is EINVAL with the preferred version written back (0 when data is NULL, which is how a program asks).
    /// </summary>
    public static long Capget(LinuxProcess p, in SyscallArgs a)
    {
        var words = CapabilityWords(p, a.A0, out var errno);
        if (a.A1 == 0 || errno != 0)
            return a.A1 == 0 && errno == Errno.EINVAL ? 0 : -errno;
        var pid = p.User.Read<int>(a.A0 + 4);
        if (pid < 0)
            return -Errno.EINVAL;
        if (pid != 0 && pid != LinuxProcess.Pid && p.Threads.Find(pid) is null)
            return -Errno.ESRCH;
        // struct __user_cap_data_struct { effective, permitted, inheritable }: one per 32 capabilities.
        p.User.Writable(a.A1, (ulong)(words * 12)).Clear();
        return 0;
    }

    /// <summary>capset(header, data): for this process only (EPERM for another pid); with nothing permitted, the
    /// only sets it may take are empty ones (anything else is EPERM, as for an unprivileged Linux process).</summary>
    public static long Capset(LinuxProcess p, in SyscallArgs a)
    {
        var words = CapabilityWords(p, a.A0, out var errno);
        if (errno != 0)
            return -errno;
        var pid = p.User.Read<int>(a.A0 + 4);
        if (pid != 0 && pid != p.Threads.Current.Tid)
            return -Errno.EPERM;
        foreach (var b in p.User.Readable(a.A1, (ulong)(words * 12)))
        {
            if (b != 0)
                return -Errno.EPERM;
        }
        return 0;
    }

    /// <summary>How many __user_cap_data_struct the header's version copies (1 or 2), or 0 with EFAULT or EINVAL (an
    /// unknown version, after writing the kernel's own into the header, as Linux does).</summary>
    private static int CapabilityWords(LinuxProcess p, ulong header, out int errno)
    {
        errno = 0;
        switch (p.User.Read<uint>(header))
        {
            case LINUX_CAPABILITY_VERSION_1:
                return 1;
            case LINUX_CAPABILITY_VERSION_2 or LINUX_CAPABILITY_VERSION_3:
                return 2;
            default:
                p.User.Write(header, LINUX_CAPABILITY_VERSION_3);
                errno = Errno.EINVAL;
                return 0;
        }
    }

    private const int PRIO_PROCESS = 0, PRIO_PGRP = 1, PRIO_USER = 2;

    /// <summary>getpriority: the highest priority among the threads named, as Linux's 20 - nice (1..40; glibc turns
    /// it back into the nice value); ESRCH when none is.</summary>
    public static long Getpriority(LinuxProcess p, in SyscallArgs a)
    {
        if (PriorityTargets(p, AsInt(a.A0), AsInt(a.A1)) is not { } targets)
            return -Errno.EINVAL;
        return targets.Count == 0 ? -Errno.ESRCH : targets.Max(t => 20 - t.Nice);
    }

    /// <summary>setpriority: sets the nice value (clamped to -20..19) of each thread named. Raising a priority (a nice
    /// value below the thread's own) is EACCES, as for a Linux process without CAP_SYS_NICE and with RLIMIT_NICE 0
    /// (capget and getrlimit say so); the others are set all the same. The value is kept and reported, not used:
    /// every thread gets the same time slice.</summary>
    public static long Setpriority(LinuxProcess p, in SyscallArgs a)
    {
        if (PriorityTargets(p, AsInt(a.A0), AsInt(a.A1)) is not { } targets)
            return -Errno.EINVAL;
        var nice = Math.Clamp(AsInt(a.A2), GuestThread.MinNice, GuestThread.MaxNice);
        long result = -Errno.ESRCH;
        foreach (var thread in targets)
        {
            if (nice < thread.Nice)
            {
                result = -Errno.EACCES;
                continue;
            }
            thread.Nice = nice;
            if (result == -Errno.ESRCH)
                result = 0;
        }
        return result;
    }

    /// <summary>The threads a priority call names, or null for a bad <paramref name="which"/>: PRIO_PROCESS one thread
    /// by its id (0 the caller; the pid is the main thread's id, as on Linux); PRIO_PGRP the process's group (0 or the
    /// pid: the process leads its own) and PRIO_USER uid 0 (0: the caller's, root) are every thread.</summary>
    private static List<GuestThread>? PriorityTargets(LinuxProcess p, int which, int who) => which switch
    {
        PRIO_PROCESS when who == 0 => [p.Threads.Current],
        PRIO_PROCESS => p.Threads.Find(who) is { } thread ? [thread] : [],
        PRIO_PGRP => who is 0 or LinuxProcess.Pid ? [.. p.Threads.Threads] : [],
        PRIO_USER => who == 0 ? [.. p.Threads.Threads] : [],
        _ => null,
    };

    public static long Getrlimit(LinuxProcess p, in SyscallArgs a) => Prlimit64(p, new SyscallArgs(0, a.A0, 0, a.A1));

    public static long Setrlimit(LinuxProcess p, in SyscallArgs a) => 0;

    public static long Prlimit64(LinuxProcess p, in SyscallArgs a)
    {
        const ulong infinity = ulong.MaxValue;
        if (a.A0 != 0 && a.A0 != LinuxProcess.Pid)
            return -Errno.ESRCH;
        if (a.A1 >= 16)
            return -Errno.EINVAL;
        if (a.A3 != 0)
        {
            var limit = a.A1 switch
            {
                3 => new Kernel.rlimit { rlim_cur = AddressSpace.ThreadStackLimit, rlim_max = infinity }, // RLIMIT_STACK
                7 => new Kernel.rlimit { rlim_cur = Files.FdTable.Limit, rlim_max = Files.FdTable.Limit }, // RLIMIT_NOFILE
                9 => new Kernel.rlimit { rlim_cur = p.MemorySize, rlim_max = p.MemorySize },          // RLIMIT_AS
                4 => new Kernel.rlimit { rlim_cur = 0, rlim_max = infinity },                        // RLIMIT_CORE
                6 => new Kernel.rlimit { rlim_cur = 1, rlim_max = 1 },                               // RLIMIT_NPROC
                13 => new Kernel.rlimit { rlim_cur = 0, rlim_max = 0 },                              // RLIMIT_NICE: setpriority may not raise a priority
                _ => new Kernel.rlimit { rlim_cur = infinity, rlim_max = infinity },
            };
            p.User.Write(a.A3, limit);
        }
        return 0; // a new limit is accepted and changes nothing: the VM's size is the real limit
    }

    public static long ArchPrctl(LinuxProcess p, in SyscallArgs a)
    {
        switch (AsInt(a.A0))
        {
            case ARCH_SET_FS:
                if (a.A1 >= 1UL << 47)
                    return -Errno.EPERM;
                p.SetFsBase(a.A1);
                return 0;
            case ARCH_GET_FS:
                p.User.Write(a.A1, p.FsBase);
                return 0;
            case ARCH_SET_GS or ARCH_GET_GS:
                return -Errno.EINVAL; // glibc uses FS only; GS would need its own register plumbing
            default:
                return -Errno.EINVAL;
        }
    }

    public static long Prctl(LinuxProcess p, in SyscallArgs a)
    {
        const int PR_SET_NAME = 15, PR_GET_NAME = 16, PR_SET_PDEATHSIG = 1, PR_GET_DUMPABLE = 3, PR_SET_DUMPABLE = 4,
            PR_CAPBSET_READ = 23, PR_SET_VMA = 0x53564d41, LastCapability = 40;
        switch (AsInt(a.A0))
        {
            case PR_SET_NAME:
                var given = p.User.ReadString(a.A1, max: 4096);
                var bytes = Encoding.UTF8.GetBytes(given);
                p.ThreadName = bytes.AsSpan(0, Math.Min(bytes.Length, 15)).ToArray();
                return 0;
            case PR_SET_PDEATHSIG or PR_SET_DUMPABLE or PR_SET_VMA:
                return 0;
            case PR_GET_NAME:
                var name = p.User.Writable(a.A1, 16);
                name.Clear();
                p.ThreadName.CopyTo(name);
                return 0;
            case PR_GET_DUMPABLE:
                return 0;
            case PR_CAPBSET_READ:
                // No capability is in the bounding set (nothing here would use one); EINVAL past the last, as Linux.
                return a.A1 <= LastCapability ? 0 : -Errno.EINVAL;
            default:
                return -Errno.EINVAL;
        }
    }

    /// <summary>0 when <paramref name="pid"/> names this process or one of its threads (0: the caller), the negated
    /// <paramref name="negative"/> when it is negative (EINVAL for most, ESRCH for the affinity calls, as Linux), -ESRCH
    /// otherwise: how the sched_* calls find their task.</summary>
    private static int FindTask(LinuxProcess p, ulong pid, int negative = Errno.EINVAL) => (long)(int)pid switch
    {
        < 0 => -negative,
        0 or LinuxProcess.Pid => 0,
        var tid => p.Threads.Find((int)tid) is null ? -Errno.ESRCH : 0,
    };

    private const int SCHED_OTHER = 0, SCHED_FIFO = 1, SCHED_RR = 2, SCHED_BATCH = 3, SCHED_IDLE = 5, SCHED_DEADLINE = 6;

    /// <summary>sched_getscheduler(pid): every thread is SCHED_OTHER (sched_setscheduler keeps it so).</summary>
    public static long SchedGetscheduler(LinuxProcess p, in SyscallArgs a) => FindTask(p, a.A0) is var found and < 0 ? found : SCHED_OTHER;

    /// <summary>sched_getparam(pid, param): SCHED_OTHER's priority, 0.</summary>
    public static long SchedGetparam(LinuxProcess p, in SyscallArgs a)
    {
        if (a.A1 == 0)
            return -Errno.EINVAL;
        if (FindTask(p, a.A0) is var found and < 0)
            return found;
        p.User.Write(a.A1, 0);
        return 0;
    }

    /// <summary>sched_setscheduler(pid, policy, param): every thread stays SCHED_OTHER, so asking for it (priority 0)
    /// succeeds and changes nothing; another valid policy is EPERM (the VMM's scheduler has one), an unknown policy or
    /// a priority outside its range EINVAL, as Linux checks them.</summary>
    public static long SchedSetscheduler(LinuxProcess p, in SyscallArgs a)
    {
        const int SCHED_RESET_ON_FORK = 0x40000000;
        if (a.A2 == 0)
            return -Errno.EINVAL;
        if (FindTask(p, a.A0) is var found and < 0)
            return found;
        var policy = (ulong)((int)a.A1 & ~SCHED_RESET_ON_FORK);
        var priority = p.User.Read<int>(a.A2);
        var lowest = PriorityRange(policy, max: false);
        if (lowest < 0 || priority < lowest || priority > PriorityRange(policy, max: true))
            return -Errno.EINVAL;
        return policy == SCHED_OTHER ? 0 : -Errno.EPERM;
    }

    /// <summary>sched_setparam(pid, param): SCHED_OTHER's only priority, 0, succeeds; any other is EINVAL.</summary>
    public static long SchedSetparam(LinuxProcess p, in SyscallArgs a)
    {
        if (a.A1 == 0)
            return -Errno.EINVAL;
        if (FindTask(p, a.A0) is var found and < 0)
            return found;
        return p.User.Read<int>(a.A1) == 0 ? 0 : -Errno.EINVAL;
    }

    /// <summary>sched_get_priority_max and _min(policy): Linux's 1 to 99 for the real-time policies, 0 for the others,
    /// EINVAL for an unknown one.</summary>
    public static long SchedGetPriorityMax(LinuxProcess p, in SyscallArgs a) => PriorityRange(a.A0, max: true);

    public static long SchedGetPriorityMin(LinuxProcess p, in SyscallArgs a) => PriorityRange(a.A0, max: false);

    private static long PriorityRange(ulong policy, bool max) => (long)(int)policy switch
    {
        SCHED_FIFO or SCHED_RR => max ? 99 : 1,
        SCHED_OTHER or SCHED_BATCH or SCHED_IDLE or SCHED_DEADLINE => 0,
        _ => -Errno.EINVAL,
    };

    /// <summary>sched_rr_get_interval(pid, tp): the VMM's time slice, which every thread of the program gets.</summary>
    public static long SchedRrGetInterval(LinuxProcess p, in SyscallArgs a)
    {
        if (FindTask(p, a.A0) is var found and < 0)
            return found;
        var slice = p.Options.TimeSlice;
        p.User.Write(a.A1, new Kernel.timespec { tv_sec = (long)slice.TotalSeconds, tv_nsec = slice.Ticks % TimeSpan.TicksPerSecond * 100 });
        return 0;
    }

    /// <summary>sched_setaffinity(pid, len, mask): the one CPU there is must be in the mask (EINVAL otherwise, as for
    /// a mask of no online CPU); nothing changes.</summary>
    public static long SchedSetaffinity(LinuxProcess p, in SyscallArgs a)
    {
        if (FindTask(p, a.A0, negative: Errno.ESRCH) is var found and < 0)
            return found;
        if (a.A1 == 0)
            return -Errno.EINVAL;
        return (p.User.Read<byte>(a.A2) & 1) == 0 ? -Errno.EINVAL : 0;
    }

    /// <summary>One CPU: the mask has bit 0 only.</summary>
    public static long SchedGetaffinity(LinuxProcess p, in SyscallArgs a)
    {
        if (FindTask(p, a.A0, negative: Errno.ESRCH) is var found and < 0)
            return found;
        if (a.A1 < 8 || (a.A1 & 7) != 0)
            return -Errno.EINVAL;
        // Linux copies only its own mask's size (8 bytes for one CPU), however large the buffer the program names.
        var mask = p.User.Writable(a.A2, 8);
        mask.Clear();
        mask[0] = 1;
        return 8;
    }

    public static long Getcpu(LinuxProcess p, in SyscallArgs a)
    {
        if (a.A0 != 0)
            p.User.Write(a.A0, 0u);
        if (a.A1 != 0)
            p.User.Write(a.A1, 0u);
        return 0;
    }

    public static long Getrandom(LinuxProcess p, in SyscallArgs a)
    {
        const ulong GRND_NONBLOCK = 1, GRND_RANDOM = 2, GRND_INSECURE = 4;
        if ((a.A2 & ~(GRND_NONBLOCK | GRND_RANDOM | GRND_INSECURE)) != 0)
            return -Errno.EINVAL;
        var length = Math.Min(a.A1, 32UL << 20);
        RandomNumberGenerator.Fill(p.User.Writable(a.A0, length));
        return (long)length;
    }

    /// <summary>kill to itself: signal 0 probes; any other signal is raised for the process, delivered at the end of
    /// this call (its handler runs, or its default action ends the program) or to another thread that does not block
    /// it, or stays pending while every thread blocks it. tkill and tgkill are <see cref="ThreadCalls"/>'.</summary>
    public static long Kill(LinuxProcess p, in SyscallArgs a) => SignalSelf(p, (long)a.A0, AsInt(a.A1), SignalInfo.User);

    private static long SignalSelf(LinuxProcess p, long target, int signal, SignalInfo info)
    {
        if (signal is < 0 or > SignalState.Count)
            return -Errno.EINVAL;
        if (target is not (LinuxProcess.Pid or 0 or -1))
            return -Errno.ESRCH;
        if (signal != 0)
            p.Signals.Raise(signal, info);
        return 0;
    }

    public static long Wait4(LinuxProcess p, in SyscallArgs a) => -Errno.ECHILD;
}

/// <summary>The program waits for something that can never happen: no other thread, timeout or timer can end its wait.</summary>
public sealed class ProgramDeadlockException : Vmm.GuestFailureException
{
    public ProgramDeadlockException(ulong address)
        : this($"waits on the futex at 0x{address:x} with no timeout, and no other thread can wake it")
    {
    }

    /// <summary><paramref name="what"/> completes "the program …", e.g. "reads the empty pipe at fd 4, whose write end it holds itself".</summary>
    public ProgramDeadlockException(string what)
        : base($"the program {what} (it has no other thread, and no timer is armed to interrupt it): " +
               "it would hang forever, so it was stopped")
    {
    }

    /// <summary>Every thread of the program waits and nothing can end a wait: <paramref name="waits"/> lists them
    /// ("thread 1 waits on …; thread 2 reads …").</summary>
    public ProgramDeadlockException(string waits, bool threads)
        : base(threads
            ? $"every thread of the program waits, and no other thread, timeout or armed timer can end a wait ({waits}): it would hang forever, so it was stopped"
            : $"the program {waits}: it would hang forever, so it was stopped")
    {
    }
}

using Snapfn.Linux.Abi;
using Snapfn.Linux.Memory;
using Snapfn.Linux.Threads;
using static Snapfn.Linux.Syscalls.SyscallArgs;

namespace Snapfn.Linux.Syscalls;

/// <summary>Threads: clone (of a thread, as pthread_create makes one), exit of one thread, gettid, set_tid_address,
/// the robust-list calls, futex, and tkill/tgkill to one thread. The threads share the one vCPU
/// (<see cref="ThreadScheduler"/>).</summary>
internal static class ThreadCalls
{
    public const ulong CLONE_VM = 0x100, CLONE_FS = 0x200, CLONE_FILES = 0x400, CLONE_SIGHAND = 0x800, CLONE_THREAD = 0x10000,
        CLONE_SYSVSEM = 0x40000, CLONE_SETTLS = 0x80000, CLONE_PARENT_SETTID = 0x100000, CLONE_CHILD_CLEARTID = 0x200000,
        CLONE_DETACHED = 0x400000, CLONE_CHILD_SETTID = 0x1000000;

    /// <summary>What a thread must share: the address space, files, working directory and signal handlers, all of
    /// which exist once in a <see cref="LinuxProcess"/>.</summary>
    public const ulong ThreadFlags = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD;

    /// <summary>What a thread's clone may add (glibc's pthread_create passes all of them but CHILD_SETTID and DETACHED).</summary>
    public const ulong OptionalFlags = CLONE_SYSVSEM | CLONE_SETTLS | CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID | CLONE_DETACHED | CLONE_CHILD_SETTID;

    private const ulong UserAddressLimit = 1UL << 47;

    /// <summary>
    /// clone(flags, stack, parent_tid, child_tid, tls): a new thread that returns 0 from this call on
    /// <paramref name="a"/>.A1's stack (the caller's when 0), with the caller's registers, FPU state and signal mask,
    /// the given TLS; the caller gets its thread id. A new process (no CLONE_THREAD, CLONE_VM, ...) or a thread that
    /// would not share files or the working directory is EAGAIN, as fork's: Snapfn runs one process.
    /// </summary>
    public static long Clone(LinuxProcess p, in SyscallArgs a) => Start(p, 56, "clone", a.A0, a.A1, a.A2, a.A3, a.A4);

    /// <summary>clone3's smallest argument struct (CLONE_ARGS_SIZE_VER0); Linux refuses one larger than a page.</summary>
    public const int CloneArgsSizeVer0 = 64;

    private const ulong CLONE_CLEAR_SIGHAND = 0x1_0000_0000, CLONE_INTO_CGROUP = 0x2_0000_0000, CSIGNAL = 0xff;

    /// <summary>
    /// clone3(args, size): as clone, from struct clone_args (glibc's pthread_create tries it first). Linux's checks
    /// of the struct come first: a size below 64 bytes is EINVAL, above a page E2BIG, nonzero bytes past the
    /// version this layer knows E2BIG; set_tid, an exit signal with CLONE_THREAD, CLONE_DETACHED (not a clone3 flag),
    /// a stack without a size (or a size without a stack) are EINVAL. The new thread's stack pointer is
    /// stack + stack_size. The flags a thread may not have are clone's EAGAIN.
    /// </summary>
    public static long Clone3(LinuxProcess p, in SyscallArgs a)
    {
        var size = a.A1;
        if (size < CloneArgsSizeVer0)
            return -Errno.EINVAL;
        if (size > AddressSpace.PageSize)
            return -Errno.E2BIG;
        var known = (ulong)System.Runtime.CompilerServices.Unsafe.SizeOf<Kernel.clone_args>();
        var bytes = p.User.Readable(a.A0, size);
        if (size > known && bytes[(int)known..].IndexOfAnyExcept((byte)0) >= 0)
            return -Errno.E2BIG;
        Span<byte> copy = stackalloc byte[(int)known];
        copy.Clear();
        bytes[..(int)Math.Min(size, known)].CopyTo(copy);
        var args = System.Runtime.InteropServices.MemoryMarshal.Read<Kernel.clone_args>(copy);
        if (args.set_tid != 0 || args.set_tid_size != 0 || (args.exit_signal & ~CSIGNAL) != 0 || args.exit_signal > (ulong)SignalState.Count ||
            (args.flags & CLONE_INTO_CGROUP) != 0 && (args.cgroup > int.MaxValue || size < known))
            return -Errno.EINVAL;
        if ((args.flags & ~(0xffff_ffffUL | CLONE_CLEAR_SIGHAND | CLONE_INTO_CGROUP)) != 0 || (args.flags & (CLONE_DETACHED | CSIGNAL)) != 0 ||
            (args.flags & (CLONE_SIGHAND | CLONE_CLEAR_SIGHAND)) == (CLONE_SIGHAND | CLONE_CLEAR_SIGHAND) ||
            (args.flags & CLONE_THREAD) != 0 && args.exit_signal != 0)
            return -Errno.EINVAL;
        // Linux's clone3_stack_valid: a stack and its size come together, and lie in user space.
        if (args.stack == 0 ? args.stack_size != 0 : args.stack_size == 0 || args.stack >= UserAddressLimit || args.stack_size > UserAddressLimit - args.stack)
            return -Errno.EINVAL;
        var stack = args.stack == 0 ? 0 : args.stack + args.stack_size;
        return Start(p, 435, "clone3", args.flags, stack, args.parent_tid, args.child_tid, args.tls);
    }

    private static long Start(LinuxProcess p, ulong number, string call, ulong flags, ulong stack, ulong parentTid, ulong childTid, ulong tls)
    {
        if ((flags & ThreadFlags) != ThreadFlags || (flags & ~(ThreadFlags | OptionalFlags)) != 0)
        {
            p.Options.Warning?.Invoke($"snapfn: the program called {call} with flags 0x{flags:x}: only threads (CLONE_VM|CLONE_FS|CLONE_FILES|" +
                "CLONE_SIGHAND|CLONE_THREAD, as pthread_create) are supported, no processes; it got EAGAIN");
            return -Errno.EAGAIN;
        }
        if ((flags & CLONE_SETTLS) != 0 && tls >= UserAddressLimit)
            return -Errno.EPERM;
        if (p.Threads.Count >= p.Threads.MaxThreads)
            return -Errno.EAGAIN;
        // The tid words are checked before the thread exists, so that a bad pointer leaves nothing behind.
        if ((flags & CLONE_PARENT_SETTID) != 0)
            _ = p.User.Writable(parentTid, 4);
        if ((flags & (CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID)) != 0)
            _ = p.User.Writable(childTid, 4);
        var registers = p.Registers;
        registers.rax = 0;
        if (stack != 0)
            registers.rsp = stack;
        var fsBase = (flags & CLONE_SETTLS) != 0 ? tls : p.FsBase;
        var child = p.Threads.Create(registers, number, fsBase, p.Signals.Thread.CloneForNewThread(), p.Cpu.SaveFpu())!;
        child.Nice = p.Threads.Current.Nice;
        if ((flags & CLONE_CHILD_CLEARTID) != 0)
            child.ClearChildTid = childTid;
        if ((flags & CLONE_PARENT_SETTID) != 0)
            p.User.Write(parentTid, child.Tid);
        if ((flags & CLONE_CHILD_SETTID) != 0)
            p.User.Write(childTid, child.Tid);
        p.StartTimeSlice();
        return child.Tid;
    }

    /// <summary>exit: ends the calling thread only. Its robust futex list is walked (<see cref="RobustList"/>), then
    /// its CLONE_CHILD_CLEARTID word is set to 0 and woken (how pthread_join waits), in Linux's order; the last
    /// thread's exit ends the program, with the main thread's status if it exited before (as Linux reports the group
    /// leader's).</summary>
    public static long Exit(LinuxProcess p, in SyscallArgs a)
    {
        var status = AsInt(a.A0) & 0xff;
        var thread = p.Threads.Current;
        if (!p.Threads.Multiple)
        {
            p.Terminate(new ProgramExit(p.Threads.LeaderExitStatus ?? status, null, null));
            return 0;
        }
        RobustList.Release(p, thread);
        if (thread.ClearChildTid != 0)
        {
            try
            {
                p.User.Write(thread.ClearChildTid, 0);
                p.Threads.WakeFutex(thread.ClearChildTid, uint.MaxValue, 1);
            }
            catch (BadAddressException)
            {
                // As Linux: a word the thread unmapped is not written, and nobody is woken.
            }
        }
        p.Threads.Exit(status, isLeader: thread.Tid == LinuxProcess.Pid);
        if (!p.Threads.Multiple)
            p.StopTimeSlice();
        throw new ThreadBlockedException((ThreadWait?)null);
    }

    public static long Gettid(LinuxProcess p, in SyscallArgs a) => p.Threads.Current.Tid;

    /// <summary>sched_yield: the thread goes to the end of the run queue when another can run (served again then, it
    /// returns 0).</summary>
    public static long SchedYield(LinuxProcess p, in SyscallArgs a)
    {
        var thread = p.Threads.Current;
        if (!p.Threads.Multiple || thread.CallDeadline is not null)
            return 0;
        var now = p.Clock.Monotonic;
        if (!p.Threads.WakeReady(now, p.Signals.ProcessPending))
            return 0;
        thread.CallDeadline = now;
        throw new ThreadBlockedException(new ThreadWait(WaitKind.Retry, "yields", now));
    }

    public static long SetTidAddress(LinuxProcess p, in SyscallArgs a)
    {
        p.Threads.Current.ClearChildTid = a.A0;
        return p.Threads.Current.Tid;
    }

    public static long SetRobustList(LinuxProcess p, in SyscallArgs a)
    {
        if (a.A1 != RobustList.HeadSize)
            return -Errno.EINVAL;
        p.Threads.Current.RobustList = a.A0;
        p.Threads.Current.RobustListLength = a.A1;
        return 0;
    }

    public static long GetRobustList(LinuxProcess p, in SyscallArgs a)
    {
        var tid = AsInt(a.A0);
        var thread = tid == 0 ? p.Threads.Current : p.Threads.Find(tid);
        if (thread is null)
            return -Errno.ESRCH;
        p.User.Write(a.A1, thread.RobustList);
        p.User.Write(a.A2, (ulong)RobustList.HeadSize);
        return 0;
    }

    /// <summary>tkill(tid, signal): the signal is for that thread only (a waiting thread's wait ends with it).</summary>
    public static long Tkill(LinuxProcess p, in SyscallArgs a) => SignalThread(p, AsInt(a.A0), AsInt(a.A1));

    /// <summary>tgkill(pid, tid, signal): as tkill, in this process only (ESRCH for another pid).</summary>
    public static long Tgkill(LinuxProcess p, in SyscallArgs a) =>
        (long)a.A0 != LinuxProcess.Pid ? -Errno.ESRCH : SignalThread(p, AsInt(a.A1), AsInt(a.A2));

    private static long SignalThread(LinuxProcess p, int tid, int signal)
    {
        if (signal is < 0 or > SignalState.Count || tid <= 0)
            return -Errno.EINVAL;
        if (p.Threads.Find(tid) is not { } thread)
            return -Errno.ESRCH;
        if (signal != 0)
            p.Signals.RaiseOn(thread.Signals, signal, new SignalInfo(SignalInfo.SI_TKILL));
        return 0;
    }

    /// <summary>Linux's futex operations (op's low 7 bits; FUTEX_PRIVATE_FLAG makes no difference in one address space).</summary>
    private const int FUTEX_WAIT = 0, FUTEX_WAKE = 1, FUTEX_REQUEUE = 3, FUTEX_CMP_REQUEUE = 4, FUTEX_WAIT_BITSET = 9, FUTEX_WAKE_BITSET = 10,
        FUTEX_CMD_MASK = 127, FUTEX_CLOCK_REALTIME = 256;

    /// <summary>
    /// futex(word, op, val, timeout or val2, word2, val3): WAIT and WAIT_BITSET (EAGAIN when the word is not val; a
    /// relative timeout for WAIT, an absolute one on CLOCK_MONOTONIC, or CLOCK_REALTIME with FUTEX_CLOCK_REALTIME,
    /// for WAIT_BITSET; ETIMEDOUT when it passes; a signal ends it with EINTR, or restarts it with SA_RESTART when it
    /// has no timeout), WAKE and WAKE_BITSET (how many were woken), REQUEUE and CMP_REQUEUE (woken plus moved). With
    /// one thread a wait nothing can end is the program's deadlock (<see cref="Waits"/>). Other operations (PI locks,
    /// WAKE_OP) are ENOSYS.
    /// </summary>
    public static long Futex(LinuxProcess p, in SyscallArgs a)
    {
        var op = AsInt(a.A1);
        var command = op & FUTEX_CMD_MASK;
        if ((a.A0 & 3) != 0)
            return -Errno.EINVAL;
        if ((op & FUTEX_CLOCK_REALTIME) != 0 && command is not (FUTEX_WAIT_BITSET or FUTEX_WAIT))
            return -Errno.ENOSYS;
        switch (command)
        {
            case FUTEX_WAIT or FUTEX_WAIT_BITSET:
            {
                var bitset = command == FUTEX_WAIT ? uint.MaxValue : (uint)a.A5;
                if (bitset == 0)
                    return -Errno.EINVAL;
                var deadline = long.MaxValue;
                if (a.A3 != 0)
                {
                    if (!TimeCalls.TryNanoseconds(p.User.Read<Kernel.timespec>(a.A3), out var ns))
                        return -Errno.EINVAL;
                    deadline = command == FUTEX_WAIT ? Add(p.Clock.Monotonic, ns)
                        : (op & FUTEX_CLOCK_REALTIME) != 0 ? Add(p.Clock.Monotonic, ns - p.Clock.Realtime) : ns;
                }
                if (p.User.Read<uint>(a.A0) != (uint)a.A2)
                    return -Errno.EAGAIN;
                return Wait(p, a.A0, bitset, deadline);
            }
            case FUTEX_WAKE or FUTEX_WAKE_BITSET:
            {
                var bitset = command == FUTEX_WAKE ? uint.MaxValue : (uint)a.A5;
                if (bitset == 0)
                    return -Errno.EINVAL;
                _ = p.User.Read<uint>(a.A0);
                return p.Threads.WakeFutex(a.A0, bitset, WakeCount(AsInt(a.A2)));
            }
            case FUTEX_REQUEUE or FUTEX_CMP_REQUEUE:
            {
                var (wake, requeue) = (AsInt(a.A2), AsInt(a.A3));
                if (wake < 0 || requeue < 0 || (a.A4 & 3) != 0)
                    return -Errno.EINVAL;
                if (command == FUTEX_CMP_REQUEUE && p.User.Read<uint>(a.A0) != (uint)a.A5)
                    return -Errno.EAGAIN;
                _ = p.User.Read<uint>(a.A4);
                return p.Threads.Requeue(a.A0, a.A4, WakeCount(wake), requeue);
            }
            default:
                return -Errno.ENOSYS;
        }
    }

    /// <summary>Linux's futex_wake wakes one waiter before it compares the count: 0 (or less) wakes one too.</summary>
    private static int WakeCount(int requested) => Math.Max(requested, 1);

    private static long Add(long time, long ns) => ns > 0 && time > long.MaxValue - ns ? long.MaxValue : Math.Max(0, time + ns);

    private static long Wait(LinuxProcess p, ulong address, uint bitset, long deadline)
    {
        var what = $"waits on the futex at 0x{address:x}" + (deadline == long.MaxValue ? " with no timeout" : "");
        if (p.Threads.Multiple)
        {
            if (p.Clock.Monotonic >= deadline)
                return -Errno.ETIMEDOUT;
            throw new ThreadBlockedException(new ThreadWait(WaitKind.Futex, what, deadline, address, bitset));
        }
        var timeout = deadline == long.MaxValue ? Waits.Forever : Math.Max(0, deadline - p.Clock.Monotonic);
        var woken = Waits.Block(p, timeout, what + ", and no other thread can wake it");
        return woken == 0 ? -Errno.ETIMEDOUT
            : woken == -Waits.ERESTARTSYS ? (deadline == long.MaxValue ? -Waits.ERESTARTSYS : -Errno.EINTR)
            : woken;
    }
}

using Snapfn.Interop;
using Snapfn.Linux.Syscalls;

namespace Snapfn.Linux.Threads;

/// <summary>Where a thread is: running on the vCPU, ready to, waiting, or gone.</summary>
public enum GuestThreadState
{
    /// <summary>On the vCPU (the scheduler's <see cref="ThreadScheduler.Current"/>).</summary>
    Running,

    /// <summary>Ready to run: in the run queue.</summary>
    Runnable,

    /// <summary>In a system call that waits (<see cref="GuestThread.Wait"/> says for what).</summary>
    Waiting,

    Exited,
}

/// <summary>What a waiting thread waits for.</summary>
public enum WaitKind
{
    /// <summary>A FUTEX_WAIT: only a FUTEX_WAKE of its word (with a bit of its bitset), its timeout or a signal ends it.</summary>
    Futex,

    /// <summary>Any other wait (an empty pipe, poll, epoll, a sleep): its call is served again once another thread
    /// has changed something (a call completed), its deadline passed or a signal came, and waits again if it still
    /// cannot complete.</summary>
    Retry,

    /// <summary>The read of an empty invocation channel: the program waits for its next request (READY) once no other
    /// thread can run.</summary>
    Channel,
}

/// <summary>A wait: its kind, the futex word and bitset for a futex, its deadline on CLOCK_MONOTONIC
/// (<see cref="long.MaxValue"/>: none), the blocked signals that end it too (rt_sigtimedwait) and, for the
/// message of a deadlock, what the thread waits for.</summary>
public sealed record ThreadWait(WaitKind Kind, string What, long Deadline = long.MaxValue, ulong FutexAddress = 0, uint Bitset = uint.MaxValue,
    ulong AlsoWakeOn = 0)
{
    /// <summary>The scheduler's progress count when the thread began this wait: a retry waits for it to move.</summary>
    public long Generation { get; init; }
}

/// <summary>How a thread goes on when it is switched to.</summary>
public enum ResumeKind
{
    /// <summary>It was stopped in a system call, whose result is <see cref="GuestThread.Result"/>: it returns from
    /// the call (signals are delivered then, as at the end of any call).</summary>
    FromSyscall,

    /// <summary>It was interrupted by its time slice between two instructions: its registers are put back as they were.</summary>
    Preempted,

    /// <summary>Its wait is a <see cref="WaitKind.Retry"/>: its call is served again.</summary>
    Retry,
}

/// <summary>
/// One guest thread as the VMM keeps it while another runs: its registers (RAX the system-call number when it is
/// stopped in a call), FS base, FPU state, signal state, the addresses of CLONE_CHILD_CLEARTID and
/// set_robust_list, and what it waits for.
/// </summary>
public sealed class GuestThread
{
    internal GuestThread(int tid, ThreadSignals signals)
    {
        Tid = tid;
        Signals = signals;
    }

    public int Tid { get; }

    public GuestThreadState State { get; internal set; } = GuestThreadState.Runnable;

    /// <summary>The registers to resume with; for a thread stopped in a call, those of the call (RAX its number).</summary>
    public Kvm.kvm_regs Registers;

    public ResumeKind Resume { get; internal set; } = ResumeKind.FromSyscall;

    /// <summary>The number of the system call it is stopped in.</summary>
    public ulong SyscallNumber { get; internal set; }

    /// <summary>The result its call returns when it is resumed <see cref="ResumeKind.FromSyscall"/>.</summary>
    public long Result { get; internal set; }

    public ulong FsBase { get; set; }

    /// <summary>Its FPU state while it is off the vCPU; null while the vCPU holds it (or there is no VM).</summary>
    public byte[]? Fpu { get; internal set; }

    public ThreadSignals Signals { get; }

    /// <summary>CLONE_CHILD_CLEARTID / set_tid_address: when the thread exits, 0 is written here and a futex wake
    /// sent to it (how pthread_join learns of the end). 0: none.</summary>
    public ulong ClearChildTid { get; set; }

    /// <summary>set_robust_list's head and length: the list is walked when the thread exits (Syscalls.RobustList).</summary>
    public ulong RobustList { get; set; }

    public ulong RobustListLength { get; set; }

    public ThreadWait? Wait { get; internal set; }

    /// <summary>The deadline of the wait its current call began, kept while the call is served again after a
    /// <see cref="WaitKind.Retry"/>, so that a relative timeout counts from the call's first attempt.</summary>
    public long? CallDeadline { get; set; }

    /// <summary>What a blocking write that waits has already written, kept while the call is served again after a
    /// <see cref="WaitKind.Retry"/>, so that it goes on from there (Linux's write returns once all is written, or a
    /// signal comes); cleared with <see cref="CallDeadline"/>.</summary>
    public long CallProgress { get; set; }

    /// <summary>The CPU time it used up to the moment it last took the vCPU (<see cref="ThreadScheduler.CpuNanoseconds"/>).</summary>
    internal long CpuNs { get; set; }

    /// <summary>The process's CPU time when it last took the vCPU.</summary>
    internal long CpuSince { get; set; }

    /// <summary>The CPU time a clock_nanosleep on a CPU clock waits for, kept while the call is served again after a
    /// <see cref="WaitKind.Retry"/> (a relative sleep counts from its first attempt); cleared with <see cref="CallDeadline"/>.</summary>
    internal long? CallCpuTarget { get; set; }

    public const int MinNice = -20, MaxNice = 19;

    /// <summary>Its nice value (setpriority), inherited by the threads it creates. Kept and reported only: the
    /// scheduler gives every thread the same time slice.</summary>
    public int Nice { get; set; }

    /// <summary>The thread's exit status (exit's argument).</summary>
    public int ExitStatus { get; internal set; }

    public override string ToString() => $"thread {Tid} ({State}{(Wait is { } w ? $": {w.What}" : "")})";
}

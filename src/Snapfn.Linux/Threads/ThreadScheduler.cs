using System.Text;
using Snapfn.Interop;
using Snapfn.Linux.Abi;
using Snapfn.Linux.Syscalls;

namespace Snapfn.Linux.Threads;

/// <summary>
/// The threads of one program and which of them the one vCPU runs. Snapfn schedules guest threads itself, on the
/// VM's single vCPU, instead of giving each thread a vCPU of its own: the system-call layer then never serves two
/// calls at once (it stays single-threaded, as it was written), a futex wake is a list operation instead of a
/// cross-thread wake-up, and the machines this runs on have 2 cores shared by every VM, so more vCPUs would buy no
/// parallelism. A thread leaves the vCPU when its call waits (futex, an empty pipe, poll, epoll, a sleep), when it
/// exits, and when its time slice ends while another can run (<see cref="LinuxProcess.OnInterrupted"/>).
///
/// This type decides only *which* thread runs and keeps the wait queues; it touches neither guest memory nor the
/// vCPU, so that its rules are tested without a VM. Threads run in FIFO order; a waiter becomes runnable when it
/// is woken (futex), its deadline passes, a signal it does not block arrives, or — for a <see cref="WaitKind.Retry"/>
/// wait, whose call is served again — when another thread completed a call since it began waiting
/// (<see cref="Progress"/>): only a completed call can make a pipe readable or a poll ready.
/// </summary>
internal sealed class ThreadScheduler
{
    /// <summary>Threads one program may have alive at once, unless <see cref="ProcessOptions.MaxThreads"/> says otherwise.</summary>
    public const int DefaultMaxThreads = 256;

    private readonly Dictionary<int, GuestThread> _threads = [];
    private readonly LinkedList<GuestThread> _runQueue = new();
    private readonly List<GuestThread> _waiting = [];
    private int _nextTid;

    private readonly Func<long> _processCpuNs;

    /// <summary><paramref name="processCpuNs"/> reads the process's CPU time, which each thread is charged with while
    /// it holds the vCPU (none given: no CPU time is counted).</summary>
    public ThreadScheduler(int maxThreads, int mainTid, ThreadSignals mainSignals, Func<long>? processCpuNs = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxThreads, 1);
        MaxThreads = maxThreads;
        _processCpuNs = processCpuNs ?? (() => 0);
        Current = new GuestThread(mainTid, mainSignals) { State = GuestThreadState.Running, CpuSince = _processCpuNs() };
        _threads[mainTid] = Current;
        _nextTid = mainTid + 1;
    }

    public int MaxThreads { get; }

    /// <summary>The thread on the vCPU (or, between a wait and the next switch, the one that just left it).</summary>
    public GuestThread Current { get; private set; }

    /// <summary>Threads alive (not exited).</summary>
    public int Count => _threads.Count;

    /// <summary>More than one thread is alive: a wait switches threads instead of sleeping the vCPU.</summary>
    public bool Multiple => _threads.Count > 1;

    /// <summary>Completed system calls, counted so that a <see cref="WaitKind.Retry"/> waiter knows when to look again.</summary>
    public long Generation { get; private set; }

    /// <summary>Every live thread, by thread id.</summary>
    public IEnumerable<GuestThread> Threads => _threads.Values.OrderBy(t => t.Tid);

    /// <summary>The waiting threads, in the order they began to wait.</summary>
    public IReadOnlyList<GuestThread> Waiting => _waiting;

    /// <summary>The thread that waits in a read of the empty invocation channel, if any.</summary>
    public GuestThread? ChannelWaiter => _waiting.Find(t => t.Wait!.Kind == WaitKind.Channel);

    public GuestThread? Find(int tid) => _threads.GetValueOrDefault(tid);

    /// <summary>A system call completed: the program's state may have changed for a thread that waits to retry.</summary>
    public void Progress() => Generation++;

    /// <summary>A new thread that starts as the return of the clone call stopped in <paramref name="registers"/>
    /// (its result 0), at the end of the run queue; null when <see cref="MaxThreads"/> are alive (clone then fails
    /// with EAGAIN, as Linux's at RLIMIT_NPROC).</summary>
    public GuestThread? Create(in Kvm.kvm_regs registers, ulong cloneNumber, ulong fsBase, ThreadSignals signals, byte[]? fpu)
    {
        if (_threads.Count >= MaxThreads)
            return null;
        while (_threads.ContainsKey(_nextTid) || _nextTid <= 0)
            _nextTid = _nextTid <= 0 ? 2 : _nextTid + 1;
        var thread = new GuestThread(_nextTid++, signals)
        {
            Registers = registers,
            SyscallNumber = cloneNumber,
            Result = 0,
            FsBase = fsBase,
            Fpu = fpu,
            Resume = ResumeKind.FromSyscall,
        };
        _threads[thread.Tid] = thread;
        Enqueue(thread);
        return thread;
    }

    /// <summary>A restore: the program's thread on the vCPU is <paramref name="tid"/> (not always the main thread:
    /// whichever read the channel), and nothing else exists yet.</summary>
    public GuestThread ResetCurrent(int tid, ThreadSignals signals, int? leaderExitStatus)
    {
        if (_threads.Count != 1 || _runQueue.Count != 0 || _waiting.Count != 0)
            throw new InvalidOperationException("threads are restored into a fresh process only");
        _threads.Clear();
        Current = new GuestThread(tid, signals) { State = GuestThreadState.Running, CpuSince = _processCpuNs() };
        _threads[tid] = Current;
        _nextTid = tid + 1;
        LeaderExitStatus = leaderExitStatus;
        return Current;
    }

    /// <summary>Puts a thread back as a snapshot had it (a restore), to be made runnable or waiting next.</summary>
    public GuestThread Restore(int tid, ThreadSignals signals)
    {
        if (_threads.Count >= MaxThreads && !_threads.ContainsKey(tid))
            throw new InvalidOperationException($"the snapshot has more threads than the limit of {MaxThreads}");
        if (_threads.ContainsKey(tid))
            throw new InvalidOperationException($"thread {tid} exists already");
        var thread = new GuestThread(tid, signals);
        _threads[tid] = thread;
        _nextTid = Math.Max(_nextTid, tid + 1);
        return thread;
    }

    /// <summary>Makes a restored thread runnable as it was saved.</summary>
    public void RestoreRunnable(GuestThread thread) => Enqueue(thread);

    /// <summary>Makes a restored thread wait as it was saved.</summary>
    public void RestoreWaiting(GuestThread thread, ThreadWait wait)
    {
        thread.State = GuestThreadState.Waiting;
        thread.Wait = wait with { Generation = Generation };
        thread.Resume = wait.Kind == WaitKind.Retry ? ResumeKind.Retry : ResumeKind.FromSyscall;
        _waiting.Add(thread);
    }

    /// <summary>The running thread is stopped in system call <paramref name="number"/> with <paramref name="registers"/>
    /// and waits for <paramref name="wait"/>.</summary>
    public void Block(in Kvm.kvm_regs registers, ulong number, ThreadWait wait)
    {
        var thread = Current;
        thread.Registers = registers;
        thread.SyscallNumber = number;
        thread.State = GuestThreadState.Waiting;
        thread.Wait = wait with { Generation = Generation };
        thread.Resume = wait.Kind == WaitKind.Retry ? ResumeKind.Retry : ResumeKind.FromSyscall;
        _waiting.Add(thread);
    }

    /// <summary>The running thread's time slice ended: it goes to the end of the run queue as it is.</summary>
    public void Preempt(in Kvm.kvm_regs registers)
    {
        var thread = Current;
        thread.Registers = registers;
        thread.Resume = ResumeKind.Preempted;
        Enqueue(thread);
    }

    /// <summary>The main thread's exit status once it has exited while others run: the program's, when the last ends.</summary>
    public int? LeaderExitStatus { get; private set; }

    /// <summary>The running thread exits (its clear-tid wake is the caller's, which can write guest memory).</summary>
    public void Exit(int status, bool isLeader)
    {
        var thread = Current;
        thread.State = GuestThreadState.Exited;
        thread.ExitStatus = status;
        _threads.Remove(thread.Tid);
        if (isLeader)
            LeaderExitStatus = status;
    }

    /// <summary>FUTEX_WAKE: wakes up to <paramref name="count"/> threads waiting on the word at
    /// <paramref name="address"/> whose bitset shares a bit with <paramref name="bitset"/>, longest waiting first;
    /// their waits return 0. Returns how many.</summary>
    public int WakeFutex(ulong address, uint bitset, int count)
    {
        var woken = 0;
        for (var i = 0; i < _waiting.Count && woken < count; i++)
        {
            var t = _waiting[i];
            if (t.Wait is { Kind: WaitKind.Futex } w && w.FutexAddress == address && (w.Bitset & bitset) != 0)
            {
                MakeRunnable(t, 0);
                i--;
                woken++;
            }
        }
        return woken;
    }

    /// <summary>FUTEX_REQUEUE and FUTEX_CMP_REQUEUE: wakes up to <paramref name="wake"/> waiters of
    /// <paramref name="from"/> and moves up to <paramref name="requeue"/> more to wait on <paramref name="to"/>.
    /// Returns woken plus moved, as Linux's.</summary>
    public int Requeue(ulong from, ulong to, int wake, int requeue)
    {
        var woken = WakeFutex(from, uint.MaxValue, wake);
        var moved = 0;
        foreach (var t in _waiting)
        {
            if (moved >= requeue)
                break;
            if (t.Wait is { Kind: WaitKind.Futex } w && w.FutexAddress == from)
            {
                t.Wait = w with { FutexAddress = to };
                moved++;
            }
        }
        return woken + moved;
    }

    /// <summary>Ends a thread's wait with <paramref name="result"/> (a signal sent to it: -ERESTARTSYS).</summary>
    public void Interrupt(GuestThread thread, long result)
    {
        ArgumentNullException.ThrowIfNull(thread);
        if (thread.State != GuestThreadState.Waiting)
            return;
        if (thread.Wait!.Kind == WaitKind.Retry)
            MakeRetry(thread);
        else
            MakeRunnable(thread, result);
    }

    /// <summary>
    /// Makes every waiter that can go on runnable — its deadline passed (a futex wait returns ETIMEDOUT), a signal it
    /// does not block is pending for it (-ERESTARTSYS; a signal sent to the process wakes one thread only), or, for
    /// a retry, another thread completed a call — and returns true when any thread is runnable.
    /// </summary>
    public bool WakeReady(long now, ulong processPending)
    {
        var claimed = 0UL;
        for (var i = 0; i < _waiting.Count; i++)
        {
            var t = _waiting[i];
            var w = t.Wait!;
            if (w.Kind == WaitKind.Channel)
                continue;
            var takes = t.Signals.Pending | (processPending & ~claimed);
            var signalled = (takes & (~t.Signals.Mask | w.AlsoWakeOn | SignalState.Unblockable)) != 0;
            if (signalled)
                claimed |= takes & processPending & (~t.Signals.Mask | w.AlsoWakeOn);
            // As Linux: a futex wait without a timeout is restarted after a SA_RESTART handler, one with a timeout is EINTR.
            if (w.Kind == WaitKind.Futex && (signalled || now >= w.Deadline))
                MakeRunnable(t, !signalled ? -Errno.ETIMEDOUT : w.Deadline == long.MaxValue ? -Waits.ERESTARTSYS : -Errno.EINTR);
            else if (w.Kind == WaitKind.Retry && (signalled || now >= w.Deadline || Generation > w.Generation))
                MakeRetry(t);
            else
                continue;
            i--;
        }
        return _runQueue.Count > 0;
    }

    /// <summary>Takes the next runnable thread (after <see cref="WakeReady"/>) and makes it <see cref="Current"/>;
    /// null when none can run.</summary>
    public GuestThread? Next(long now, ulong processPending)
    {
        WakeReady(now, processPending);
        if (_runQueue.First is not { } first)
            return null;
        _runQueue.RemoveFirst();
        MakeCurrent(first.Value);
        return first.Value;
    }

    /// <summary>Runs <paramref name="thread"/> now (a channel waiter at READY, a thread restored on the vCPU).</summary>
    public void MakeCurrent(GuestThread thread)
    {
        ArgumentNullException.ThrowIfNull(thread);
        if (thread.State == GuestThreadState.Waiting)
            _waiting.Remove(thread);
        else if (thread.State == GuestThreadState.Runnable)
            _runQueue.Remove(thread);
        thread.State = GuestThreadState.Running;
        thread.Wait = null;
        if (thread != Current)
        {
            var now = _processCpuNs();
            Current.CpuNs += Math.Max(0, now - Current.CpuSince);
            thread.CpuSince = now;
            Current = thread;
        }
    }

    /// <summary>The CPU time <paramref name="thread"/> has used: the process's CPU time counted while it held the vCPU.</summary>
    public long CpuNanoseconds(GuestThread thread)
    {
        ArgumentNullException.ThrowIfNull(thread);
        return thread.CpuNs + (thread == Current ? Math.Max(0, _processCpuNs() - thread.CpuSince) : 0);
    }

    /// <summary>The earliest deadline of a waiting thread, or null when none has one.</summary>
    public long? NextDeadline()
    {
        long? next = null;
        foreach (var t in _waiting)
        {
            if (t.Wait!.Deadline != long.MaxValue && (next is null || t.Wait.Deadline < next))
                next = t.Wait.Deadline;
        }
        return next;
    }

    /// <summary>"thread 1 waits on …; thread 2 reads …", for the message of a deadlock.</summary>
    public string DescribeWaits()
    {
        var text = new StringBuilder();
        foreach (var t in _waiting.OrderBy(t => t.Tid))
            text.Append(text.Length == 0 ? "" : "; ").Append("thread ").Append(t.Tid).Append(' ').Append(t.Wait!.What);
        return text.ToString();
    }

    private void MakeRunnable(GuestThread t, long result)
    {
        _waiting.Remove(t);
        t.Wait = null;
        t.Result = result;
        t.Resume = ResumeKind.FromSyscall;
        Enqueue(t);
    }

    private void MakeRetry(GuestThread t)
    {
        _waiting.Remove(t);
        t.Resume = ResumeKind.Retry;
        // The wait is kept: its deadline is the call's (GuestThread.CallDeadline), its text the deadlock message's.
        Enqueue(t);
    }

    private void Enqueue(GuestThread t)
    {
        t.State = GuestThreadState.Runnable;
        _runQueue.AddLast(t);
    }
}

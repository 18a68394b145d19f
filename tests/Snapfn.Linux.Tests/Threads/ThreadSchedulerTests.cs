using Snapfn.Interop;
using Snapfn.Linux.Abi;
using Snapfn.Linux.Syscalls;
using Snapfn.Linux.Threads;

namespace Snapfn.Linux.Tests.Threads;

/// <summary>Issue 24: the scheduler's rules on their own — run order, futex queues, deadlines, signals, retries and
/// the thread limit — without a process or a VM.</summary>
public sealed class ThreadSchedulerTests
{
    private const ulong Word = 0x1000, Other = 0x2000;
    private readonly ThreadScheduler _s = new(8, 1, new ThreadSignals());

    private GuestThread Spawn(ulong rsp = 0x9000) =>
        _s.Create(new Kvm.kvm_regs { rsp = rsp }, 56, 0, new ThreadSignals(), null) ?? throw new InvalidOperationException("limit");

    private void WaitOnFutex(ulong address, uint bitset = uint.MaxValue, long deadline = long.MaxValue) =>
        _s.Block(default, 202, new ThreadWait(WaitKind.Futex, "waits", deadline, address, bitset));

    [Fact]
    public void Threads_run_in_the_order_they_became_runnable_and_get_new_ids()
    {
        var a = Spawn();
        var b = Spawn();
        Assert.Equal([2, 3], new[] { a.Tid, b.Tid });
        Assert.Equal(3, _s.Count);
        WaitOnFutex(Word);
        Assert.Same(a, _s.Next(0, 0));
        Assert.Equal(GuestThreadState.Running, a.State);
        _s.Preempt(default);
        Assert.Same(b, _s.Next(0, 0));
        Assert.Equal(ResumeKind.FromSyscall, b.Resume);
        _s.Preempt(default);
        Assert.Same(a, _s.Next(0, 0));
        Assert.Equal(ResumeKind.Preempted, a.Resume);
    }

    [Fact]
    public void A_futex_wake_wakes_the_longest_waiting_first_and_only_the_count_asked_for()
    {
        var a = Spawn();
        var b = Spawn();
        WaitOnFutex(Word); // thread 1
        _s.Next(0, 0);
        WaitOnFutex(Word); // a
        _s.Next(0, 0);
        Assert.Equal(1, _s.WakeFutex(Word, uint.MaxValue, 1));
        Assert.Equal(GuestThreadState.Runnable, _s.Find(1)!.State);
        Assert.Equal(0, _s.Find(1)!.Result);
        Assert.Equal(GuestThreadState.Waiting, a.State);
        Assert.Equal(0, _s.WakeFutex(Other, uint.MaxValue, 10));
        Assert.Equal(1, _s.WakeFutex(Word, uint.MaxValue, 10));
        Assert.Same(b, _s.Current);
    }

    [Fact]
    public void A_bitset_wake_wakes_only_waiters_that_share_a_bit()
    {
        Spawn();
        WaitOnFutex(Word, bitset: 0b01);
        _s.Next(0, 0);
        Assert.Equal(0, _s.WakeFutex(Word, 0b10, int.MaxValue));
        Assert.Equal(1, _s.WakeFutex(Word, 0b11, int.MaxValue));
    }

    [Fact]
    public void Requeue_wakes_some_and_moves_the_rest_to_the_other_word()
    {
        Spawn();
        Spawn();
        var last = Spawn();
        WaitOnFutex(Word);
        _s.Next(0, 0);
        WaitOnFutex(Word);
        _s.Next(0, 0);
        WaitOnFutex(Word);
        Assert.Same(last, _s.Next(0, 0));
        Assert.Equal(3, _s.Requeue(Word, Other, wake: 1, requeue: 2));
        Assert.Equal(0, _s.WakeFutex(Word, uint.MaxValue, 10));
        Assert.Equal(2, _s.WakeFutex(Other, uint.MaxValue, 10));
    }

    [Fact]
    public void A_futex_wait_past_its_deadline_times_out_and_the_earliest_deadline_is_known()
    {
        Spawn();
        WaitOnFutex(Word, deadline: 500);
        var main = _s.Find(1)!;
        _s.Next(0, 0);
        WaitOnFutex(Other, deadline: 900);
        Assert.Null(_s.Next(100, 0));
        Assert.Equal(500, _s.NextDeadline());
        Assert.Same(main, _s.Next(500, 0));
        Assert.Equal(-Errno.ETIMEDOUT, main.Result);
        Assert.Equal(900, _s.NextDeadline());
    }

    [Fact]
    public void A_signal_for_the_process_wakes_one_waiter_that_does_not_block_it()
    {
        const ulong sigusr1 = 1UL << 9;
        var a = Spawn();
        var b = Spawn();
        a.Signals.Mask = sigusr1;
        WaitOnFutex(Word); // 1, which does not block it, waits with no timeout: restarted after the handler
        _s.Next(0, 0);
        WaitOnFutex(Word); // a blocks it
        _s.Next(0, 0);
        WaitOnFutex(Word, deadline: 1000); // b does not block it either: with a timeout it is EINTR
        Assert.Same(_s.Find(1), _s.Next(0, sigusr1));
        Assert.Equal(-Waits.ERESTARTSYS, _s.Current.Result);
        Assert.Equal(GuestThreadState.Waiting, a.State);
        Assert.Equal(GuestThreadState.Waiting, b.State); // the one signal went to one thread

        b.Signals.Pending = 1UL << 11; // tgkill to b
        _s.Preempt(default);
        _s.Next(0, 0);
        Assert.True(_s.WakeReady(0, 0));
        Assert.Equal(-Errno.EINTR, b.Result);
    }

    [Fact]
    public void A_retry_waiter_runs_again_only_once_another_thread_completed_a_call()
    {
        var other = Spawn();
        _s.Block(default, 0, new ThreadWait(WaitKind.Retry, "reads the empty pipe at fd 3"));
        Assert.Same(other, _s.Next(0, 0));
        _s.Preempt(default);
        Assert.Same(other, _s.Next(0, 0)); // nothing changed: the reader is not retried
        _s.Progress();
        WaitOnFutex(Word);
        var reader = _s.Next(0, 0)!;
        Assert.Equal(1, reader.Tid);
        Assert.Equal(ResumeKind.Retry, reader.Resume);
    }

    [Fact]
    public void Past_the_limit_no_thread_is_created()
    {
        var small = new ThreadScheduler(2, 1, new ThreadSignals());
        Assert.NotNull(small.Create(default, 56, 0, new ThreadSignals(), null));
        Assert.Null(small.Create(default, 56, 0, new ThreadSignals(), null));
    }

    [Fact]
    public void A_deadlock_names_every_waiting_thread()
    {
        Spawn();
        WaitOnFutex(Word);
        _s.Next(0, 0);
        _s.Block(default, 0, new ThreadWait(WaitKind.Retry, "reads the empty pipe at fd 3"));
        Assert.Null(_s.Next(0, 0));
        Assert.Null(_s.NextDeadline());
        Assert.Equal("thread 1 waits; thread 2 reads the empty pipe at fd 3", _s.DescribeWaits());
    }

    [Fact]
    public void An_exited_thread_is_gone_and_the_leader_status_is_kept()
    {
        var a = Spawn();
        _s.Exit(7, isLeader: true);
        Assert.Null(_s.Find(1));
        Assert.Equal(7, _s.LeaderExitStatus);
        Assert.Same(a, _s.Next(0, 0));
        Assert.False(_s.Multiple);
    }
}

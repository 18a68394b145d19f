using System.Buffers.Binary;
using Snapfn.Linux.Abi;
using Snapfn.Linux.Syscalls;

namespace Snapfn.Linux.Tests.Syscalls;

/// <summary>Issue 24: signals a program sends itself and its timers' signals, delivered to its handlers through a
/// signal frame (checked in guest memory and registers), and the timer and wait calls around them — without KVM.</summary>
public sealed class SignalTests : IDisposable
{
    private const ulong RtSigaction = 13, RtSigprocmask = 14, RtSigreturn = 15, Read = 0, Nanosleep = 35, Getitimer = 36, Alarm = 37,
        Setitimer = 38, Getpid = 39, Kill = 62, Getrusage = 98, Times = 100, RtSigpending = 127, RtSigtimedwait = 128, RtSigsuspend = 130,
        Sigaltstack = 131, Tgkill = 234, TimerCreate = 222, TimerSettime = 223, TimerGettime = 224, TimerGetoverrun = 225, TimerDelete = 226,
        Pipe2 = 293, Pause = 34;
    private const ulong SA_RESTORER = 0x04000000, SA_ONSTACK = 0x08000000, SA_RESTART = 0x10000000, SA_RESETHAND = 0x80000000, SA_SIGINFO = 4;
    private const int SIGUSR1 = 10, SIGUSR2 = 12, SIGTERM = 15, SIGALRM = 14, SIGSEGV = 11, SIGCHLD = 17;
    private const ulong Handler = 0x400100, Restorer = 0x400200;

    private readonly SyscallHarness _h = new();

    private void Handle(int signal, ulong flags = SA_RESTORER | SA_SIGINFO, ulong mask = 0, ulong handler = Handler)
    {
        _h.Write(_h.Scratch, new Kernel.kernel_sigaction { sa_handler = handler, sa_flags = flags, sa_restorer = Restorer, sa_mask = mask });
        Assert.Equal(0, _h.Call(RtSigaction, (ulong)signal, _h.Scratch, 0, 8));
    }

    private void Block(int signal, int how = 0)
    {
        _h.Write(_h.Scratch + 0x40, SignalState.Bit(signal));
        Assert.Equal(0, _h.Call(RtSigprocmask, (ulong)how, _h.Scratch + 0x40, 0, 8));
    }

    [Fact]
    public void A_signal_sent_to_itself_runs_the_handler_on_a_frame_that_rt_sigreturn_undoes()
    {
        Handle(SIGUSR1, mask: SignalState.Bit(SIGUSR2));
        _h.Regs.rbx = 0xb0b;
        _h.Regs.r12 = 0xc0c;
        var before = _h.Regs;
        _h.Call(Kill, (ulong)_h.Call(Getpid), SIGUSR1);
        var frame = _h.Regs.rsp;
        Assert.Equal(Handler, _h.Regs.rcx);
        Assert.Equal((ulong)SIGUSR1, _h.Regs.rdi);
        Assert.Equal(0UL, (frame + 8) % 16); // as after a call
        Assert.True(frame < before.rsp - 128, "the frame must leave the red zone alone");
        Assert.Equal(Restorer, _h.Read<ulong>(frame));
        var uc = _h.Regs.rdx;
        var info = _h.Regs.rsi;
        Assert.Equal(frame + 8, uc);
        Assert.Equal(SIGUSR1, _h.Read<int>(info));
        Assert.Equal(0, _h.Read<int>(info + 8));  // SI_USER
        Assert.Equal(1, _h.Read<int>(info + 16)); // si_pid
        Assert.Equal(before.rcx, _h.Read<ulong>(uc + 40 + 16 * 8)); // uc_mcontext.rip
        Assert.Equal(0xb0bUL, _h.Read<ulong>(uc + 40 + 11 * 8));    // rbx
        Assert.Equal(0UL, _h.Read<ulong>(uc + 40 + 13 * 8));        // rax: kill's result
        Assert.Equal(0UL, _h.Read<ulong>(uc + 296));                // the mask to restore
        Assert.Equal(SignalState.Bit(SIGUSR1) | SignalState.Bit(SIGUSR2), _h.Process.Signals.Mask);

        // The handler clobbers registers, returns to the restorer, which calls rt_sigreturn with the frame popped.
        _h.Regs.rbx = 1;
        _h.Regs.r12 = 2;
        _h.Regs.rsp = frame + 8;
        Assert.Equal(0, _h.Call(RtSigreturn));
        Assert.Equal(before.rcx, _h.Regs.rcx);
        Assert.Equal(before.rsp, _h.Regs.rsp);
        Assert.Equal(0xb0bUL, _h.Regs.rbx);
        Assert.Equal(0xc0cUL, _h.Regs.r12);
        Assert.Equal(0UL, _h.Process.Signals.Mask);
        Assert.Null(_h.Process.Exit);
    }

    [Fact]
    public void Rt_sigreturn_cannot_set_privileged_flags_or_resume_outside_the_program()
    {
        Handle(SIGUSR1);
        _h.Call(Kill, 1, SIGUSR1);
        var uc = _h.Regs.rdx;
        _h.Write(uc + 40 + 17 * 8, 0x3000UL | 0x100 | 0x200 | 0x1); // IOPL 3, TF, IF, CF
        _h.Regs.rsp = uc;
        var flagsBefore = _h.Regs.r11;
        _h.Call(RtSigreturn);
        Assert.Equal(0UL, _h.Regs.r11 & 0x3100);
        Assert.Equal(flagsBefore & 0x200, _h.Regs.r11 & 0x200);
        Assert.Equal(1UL, _h.Regs.r11 & 1);

        _h.Call(Kill, 1, SIGUSR1);
        uc = _h.Regs.rdx;
        _h.Write(uc + 40 + 16 * 8, 0xffff800000000000UL);
        _h.Regs.rsp = uc;
        _h.Call(RtSigreturn);
        Assert.Equal(SIGSEGV, _h.Process.Exit?.Signal);
    }

    [Fact]
    public void A_bad_frame_address_or_a_handler_without_a_restorer_ends_the_program_with_SIGSEGV()
    {
        _h.Regs.rsp = 0x1000;
        _h.Call(RtSigreturn);
        Assert.Equal(SIGSEGV, _h.Process.Exit?.Signal);

        using var h = new SyscallHarness();
        h.Write(h.Scratch, new Kernel.kernel_sigaction { sa_handler = Handler });
        h.Call(RtSigaction, SIGUSR1, h.Scratch, 0, 8);
        h.Call(Kill, 1, SIGUSR1);
        Assert.Equal(SIGSEGV, h.Process.Exit?.Signal);
        Assert.Contains("SA_RESTORER", h.Process.Exit?.Note, StringComparison.Ordinal);
    }

    [Fact]
    public void Default_actions_end_the_program_ignored_signals_vanish_and_blocked_ones_wait_until_unblocked()
    {
        _h.Call(Kill, 1, SIGCHLD);
        Assert.Null(_h.Process.Exit);
        Handle(SIGUSR1);
        Block(SIGUSR1);
        _h.Call(Tgkill, 1, 1, SIGUSR1);
        Assert.Null(_h.Process.Exit);
        Assert.Equal(0, _h.Call(RtSigpending, _h.Scratch + 0x80, 8));
        Assert.Equal(SignalState.Bit(SIGUSR1), _h.Read<ulong>(_h.Scratch + 0x80));
        var rcx = _h.Regs.rcx;
        Block(SIGUSR1, how: 1); // SIG_UNBLOCK: delivered at the end of this very call
        Assert.Equal(Handler, _h.Regs.rcx);
        Assert.Equal(-6, _h.Read<int>(_h.Regs.rsi + 8)); // SI_TKILL
        Assert.Equal(rcx, _h.Read<ulong>(_h.Regs.rdx + 40 + 16 * 8));
        Assert.Equal(-Errno.ESRCH, _h.Call(Kill, 2, SIGUSR1));
        Assert.Equal(-Errno.EINVAL, _h.Call(Kill, 1, 65));
        _h.Call(Kill, 1, SIGTERM);
        Assert.Equal(SIGTERM, _h.Process.Exit?.Signal);
    }

    [Fact]
    public void SA_RESETHAND_restores_the_default_and_SA_ONSTACK_uses_the_alternate_stack()
    {
        var stack = _h.Scratch + 0x10000;
        _h.Write(_h.Scratch + 0x100, new Kernel.stack_t { ss_sp = stack, ss_size = 0x8000 });
        Assert.Equal(0, _h.Call(Sigaltstack, _h.Scratch + 0x100, 0));
        Handle(SIGUSR2, SA_RESTORER | SA_ONSTACK | SA_RESETHAND);
        _h.Call(Kill, 1, SIGUSR2);
        Assert.InRange(_h.Regs.rsp, stack, stack + 0x8000);
        Assert.Equal(0, _h.Call(Sigaltstack, 0, _h.Scratch + 0x200));
        Assert.Equal(1, _h.Read<Kernel.stack_t>(_h.Scratch + 0x200).ss_flags); // SS_ONSTACK while running on it
        Assert.Equal(-Errno.EPERM, _h.Call(Sigaltstack, _h.Scratch + 0x100, 0));
        Assert.Equal(SignalState.Default, _h.Process.Signals.Action(SIGUSR2).sa_handler);
        _h.Write(_h.Scratch + 0x100, new Kernel.stack_t { ss_sp = stack, ss_size = 100 });
        _h.Regs.rsp = _h.Process.Space.StackTop - 4096;
        Assert.Equal(-Errno.ENOMEM, _h.Call(Sigaltstack, _h.Scratch + 0x100, 0));
    }

    [Fact]
    public void Setitimer_raises_SIGALRM_once_the_time_has_passed_and_a_sleep_ends_early_with_the_time_left()
    {
        Handle(SIGALRM);
        _h.Write(_h.Scratch + 0x100, new Kernel.itimerval { it_value = new Kernel.timeval { tv_sec = 1 }, it_interval = new Kernel.timeval { tv_usec = 250_000 } });
        Assert.Equal(0, _h.Call(Setitimer, 0, _h.Scratch + 0x100, 0));
        Assert.Equal(0, _h.Call(Getitimer, 0, _h.Scratch + 0x200));
        var value = _h.Read<Kernel.itimerval>(_h.Scratch + 0x200);
        Assert.Equal(1, value.it_value.tv_sec);
        Assert.Equal(250_000, value.it_interval.tv_usec);

        _h.Write(_h.Scratch + 0x300, new Kernel.timespec { tv_sec = 5 });
        var rcx = _h.Regs.rcx;
        _h.Call(Nanosleep, _h.Scratch + 0x300, _h.Scratch + 0x400);
        Assert.Equal(Handler, _h.Regs.rcx);
        Assert.Equal(unchecked((ulong)-Errno.EINTR), _h.Read<ulong>(_h.Regs.rdx + 40 + 13 * 8)); // the interrupted call's EINTR
        Assert.Equal(rcx, _h.Read<ulong>(_h.Regs.rdx + 40 + 16 * 8));
        Assert.Equal(4, _h.Read<Kernel.timespec>(_h.Scratch + 0x400).tv_sec);
        Assert.Equal(0, _h.Call(Getitimer, 0, _h.Scratch + 0x200)); // periodic: armed again
        Assert.Equal(250_000, _h.Read<Kernel.itimerval>(_h.Scratch + 0x200).it_value.tv_usec);
        Assert.Equal(-Errno.EINVAL, _h.Call(Setitimer, 3, _h.Scratch + 0x100, 0));
    }

    /// <summary>clock_nanosleep's errors are negated errnos like any call's (it once returned them positive, which glibc
    /// read as success: a sleep a signal ended looked complete, and a bad clock or timespec slept not at all).</summary>
    [Fact]
    public void Clock_nanosleep_ended_by_a_signal_is_EINTR_with_the_time_left_and_its_errors_are_negative()
    {
        const ulong ClockNanosleep = 230, CLOCK_MONOTONIC = 1, TIMER_ABSTIME = 1;
        Handle(SIGALRM);
        _h.Write(_h.Scratch + 0x100, new Kernel.itimerval { it_value = new Kernel.timeval { tv_sec = 1 } });
        Assert.Equal(0, _h.Call(Setitimer, 0, _h.Scratch + 0x100, 0));
        _h.Write(_h.Scratch + 0x300, new Kernel.timespec { tv_sec = 5 });
        _h.Call(ClockNanosleep, CLOCK_MONOTONIC, 0, _h.Scratch + 0x300, _h.Scratch + 0x400);
        Assert.Equal(Handler, _h.Regs.rcx);
        Assert.Equal(unchecked((ulong)-Errno.EINTR), _h.Read<ulong>(_h.Regs.rdx + 40 + 13 * 8)); // the interrupted call's result
        Assert.Equal(4, _h.Read<Kernel.timespec>(_h.Scratch + 0x400).tv_sec);

        _h.Write(_h.Scratch + 0x300, new Kernel.timespec { tv_sec = 0, tv_nsec = 1_000_000_000 });
        Assert.Equal(-Errno.EINVAL, _h.Call(ClockNanosleep, CLOCK_MONOTONIC, 0, _h.Scratch + 0x300, 0));
        _h.Write(_h.Scratch + 0x300, new Kernel.timespec { tv_sec = 1 });
        Assert.Equal(-Errno.EINVAL, _h.Call(ClockNanosleep, 99, 0, _h.Scratch + 0x300, 0));
        Assert.Equal(-Errno.EFAULT, _h.Call(ClockNanosleep, CLOCK_MONOTONIC, 0, 0, 0));
        var before = _h.Clock.Monotonic;
        _h.Write(_h.Scratch + 0x300, new Kernel.timespec { tv_sec = (before + 2_000_000_000) / 1_000_000_000, tv_nsec = (before + 2_000_000_000) % 1_000_000_000 });
        Assert.Equal(0, _h.Call(ClockNanosleep, CLOCK_MONOTONIC, TIMER_ABSTIME, _h.Scratch + 0x300, 0));
        Assert.Equal(before + 2_000_000_000, _h.Clock.Monotonic);
    }

    [Fact]
    public void Alarm_returns_what_was_left_and_its_default_action_ends_the_program()
    {
        Assert.Equal(0, _h.Call(Alarm, 10));
        _h.Clock.Monotonic += 2_600_000_000;
        Assert.Equal(7, _h.Call(Alarm, 1)); // 7.4 s left: rounded
        _h.Clock.Monotonic += 1_000_000_000;
        _h.Call(Getpid);
        Assert.Equal(SIGALRM, _h.Process.Exit?.Signal);
    }

    [Fact]
    public void A_blocked_read_with_SA_RESTART_is_run_again_after_the_handler()
    {
        Assert.Equal(0, _h.Call(Pipe2, _h.Scratch + 0x500, 0));
        var fd = _h.Read<int>(_h.Scratch + 0x500);
        Handle(SIGALRM, SA_RESTORER | SA_RESTART);
        _h.Call(Alarm, 1);
        var rcx = _h.Regs.rcx;
        _h.Call(Read, (ulong)fd, _h.Scratch + 0x600, 10);
        Assert.Equal(Handler, _h.Regs.rcx);
        Assert.Equal(rcx - 2, _h.Read<ulong>(_h.Regs.rdx + 40 + 16 * 8)); // back over the `syscall` instruction
        Assert.Equal(Read, _h.Read<ulong>(_h.Regs.rdx + 40 + 13 * 8));     // with its number in RAX

        using var h = new SyscallHarness();
        h.Call(Pipe2, h.Scratch + 0x500, 0);
        h.Write(h.Scratch, new Kernel.kernel_sigaction { sa_handler = Handler, sa_flags = SA_RESTORER, sa_restorer = Restorer });
        h.Call(RtSigaction, SIGALRM, h.Scratch, 0, 8);
        h.Call(Alarm, 1);
        h.Call(Read, (ulong)h.Read<int>(h.Scratch + 0x500), h.Scratch + 0x600, 10);
        Assert.Equal(unchecked((ulong)-Errno.EINTR), h.Read<ulong>(h.Regs.rdx + 40 + 13 * 8));
    }

    [Fact]
    public void Posix_timers_signal_with_their_value_count_overruns_and_are_bounded()
    {
        Handle(SIGUSR2);
        var ev = _h.Scratch + 0x100;
        _h.Write(ev, new Kernel.sigevent { sigev_value = 42, sigev_signo = SIGUSR2, sigev_notify = 0 });
        Assert.Equal(0, _h.Call(TimerCreate, 1, ev, _h.Scratch + 0x180));
        var id = (ulong)_h.Read<int>(_h.Scratch + 0x180);
        _h.Write(_h.Scratch + 0x200, new Kernel.itimerspec { it_value = new Kernel.timespec { tv_nsec = 100_000_000 }, it_interval = new Kernel.timespec { tv_nsec = 100_000_000 } });
        Block(SIGUSR2);
        Assert.Equal(0, _h.Call(TimerSettime, id, 0, _h.Scratch + 0x200, 0));
        _h.Clock.Monotonic += 350_000_000;
        _h.Call(Getpid);
        Assert.Equal(SignalState.Bit(SIGUSR2), _h.Process.Signals.Pending);
        Block(SIGUSR2, how: 1);
        Assert.Equal(Handler, _h.Regs.rcx);
        var info = _h.Regs.rsi;
        Assert.Equal(-2, _h.Read<int>(info + 8)); // SI_TIMER
        Assert.Equal((int)id, _h.Read<int>(info + 16));
        Assert.Equal(2, _h.Read<int>(info + 20)); // 3 expiries, one signal
        Assert.Equal(42UL, _h.Read<ulong>(info + 24));
        Assert.Equal(2, _h.Call(TimerGetoverrun, id));
        Assert.Equal(0, _h.Call(TimerGettime, id, _h.Scratch + 0x300));
        Assert.Equal(50_000_000, _h.Read<Kernel.itimerspec>(_h.Scratch + 0x300).it_value.tv_nsec);
        Assert.Equal(0, _h.Call(TimerDelete, id));
        Assert.Equal(-Errno.EINVAL, _h.Call(TimerDelete, id));
        _h.Write(ev, new Kernel.sigevent { sigev_notify = 2 }); // SIGEV_THREAD: glibc's, with a thread
        Assert.Equal(-Errno.EINVAL, _h.Call(TimerCreate, 1, ev, _h.Scratch + 0x180));
        for (var i = 0; i < ProcessTimers.MaxPosixTimers; i++)
            Assert.Equal(0, _h.Call(TimerCreate, 1, 0, _h.Scratch + 0x180));
        Assert.Equal(-Errno.EAGAIN, _h.Call(TimerCreate, 1, 0, _h.Scratch + 0x180));
    }

    [Fact]
    public void Rt_sigsuspend_waits_for_a_timers_signal_and_without_one_is_a_deadlock()
    {
        _h.Write(_h.Scratch + 0x40, 0UL);
        var e = Assert.Throws<ProgramDeadlockException>(() => _h.Call(RtSigsuspend, _h.Scratch + 0x40, 8));
        Assert.Contains("rt_sigsuspend", e.Message, StringComparison.Ordinal);
        Assert.Throws<ProgramDeadlockException>(() => _h.Call(Pause));

        Handle(SIGALRM);
        Block(SIGALRM);
        _h.Call(Alarm, 3);
        var before = _h.Clock.Monotonic;
        _h.Call(RtSigsuspend, _h.Scratch + 0x40 + 0x1000, 8); // an empty mask
        Assert.Equal(3_000_000_000, _h.Clock.Monotonic - before);
        Assert.Equal(Handler, _h.Regs.rcx);
        Assert.Equal(unchecked((ulong)-Errno.EINTR), _h.Read<ulong>(_h.Regs.rdx + 40 + 13 * 8));
        Assert.Equal(SignalState.Bit(SIGALRM), _h.Read<ulong>(_h.Regs.rdx + 296)); // the mask before rt_sigsuspend comes back
    }

    [Fact]
    public void A_wait_whose_only_timer_has_its_signal_blocked_or_ignored_is_a_deadlock()
    {
        Block(SIGALRM);
        _h.Call(Alarm, 1);
        Assert.Throws<ProgramDeadlockException>(() => _h.Call(Pause));
        Block(SIGALRM, how: 1);
        _h.Write(_h.Scratch, new Kernel.kernel_sigaction { sa_handler = SignalState.Ignore });
        _h.Call(RtSigaction, SIGALRM, _h.Scratch, 0, 8);
        Assert.Throws<ProgramDeadlockException>(() => _h.Call(Pause));
    }

    [Fact]
    public void Rt_sigtimedwait_takes_a_blocked_signal_or_times_out()
    {
        Block(SIGUSR1);
        _h.Write(_h.Scratch + 0x40, SignalState.Bit(SIGUSR1));
        _h.Write(_h.Scratch + 0x80, new Kernel.timespec { tv_sec = 1 });
        var before = _h.Clock.Monotonic;
        Assert.Equal(-Errno.EAGAIN, _h.Call(RtSigtimedwait, _h.Scratch + 0x40, 0, _h.Scratch + 0x80, 8));
        Assert.Equal(1_000_000_000, _h.Clock.Monotonic - before);
        _h.Call(Kill, 1, SIGUSR1);
        Assert.Equal(SIGUSR1, _h.Call(RtSigtimedwait, _h.Scratch + 0x40, _h.Scratch + 0x100, _h.Scratch + 0x80, 8));
        Assert.Equal(SIGUSR1, _h.Read<int>(_h.Scratch + 0x100));
        Assert.Equal(0UL, _h.Process.Signals.Pending);
        Assert.Equal(SignalState.Bit(SIGUSR1), _h.Process.Signals.Mask);
    }

    [Fact]
    public void Cpu_time_leaves_out_the_time_spent_waiting()
    {
        _h.Write(_h.Scratch + 0x300, new Kernel.timespec { tv_sec = 100 });
        Assert.Equal(0, _h.Call(Nanosleep, _h.Scratch + 0x300, 0));
        Assert.Equal(0, _h.Call(Getrusage, 0, _h.Scratch + 0x400));
        Assert.True(_h.Read<long>(_h.Scratch + 0x400) < 100, "utime counted the sleep");
        Assert.True(_h.Call(Times, _h.Scratch + 0x500) >= 0);
        Assert.True(_h.Read<long>(_h.Scratch + 0x500) < 100 * 100);
        Assert.Equal(-Errno.EINVAL, _h.Call(Getrusage, 5, _h.Scratch + 0x400));
    }

    [Fact]
    public void A_snapshot_refuses_an_armed_timer()
    {
        _h.Call(Alarm, 5);
        Assert.Throws<SnapshotStateException>(() => _h.Process.Capture());
    }

    public void Dispose() => _h.Dispose();
}

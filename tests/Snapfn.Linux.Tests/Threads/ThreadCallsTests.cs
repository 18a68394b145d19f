using Snapfn.Linux.Abi;
using Snapfn.Linux.Syscalls;
using Snapfn.Linux.Tests.Syscalls;
using Snapfn.Linux.Threads;
using Snapfn.Vmm;

namespace Snapfn.Linux.Tests.Threads;

/// <summary>Issue 24: clone, futex, exit, gettid, tgkill and per-thread masks through <see cref="LinuxProcess.OnSyscall"/>
/// as a vCPU would call it, without KVM. After each call <see cref="SyscallHarness.Regs"/> holds the registers of the
/// thread that runs next; threads are told apart by their stack pointers.</summary>
public sealed class ThreadCallsTests : IDisposable
{
    private const ulong Clone = 56, Exit = 60, ExitGroup = 231, Gettid = 186, Futex = 202, Tgkill = 234, Tkill = 200, SchedYield = 24,
        SetRobustList = 273, GetRobustList = 274, RtSigaction = 13, RtSigprocmask = 14, Read = 0, Write = 1, Pipe2 = 293,
        ArchPrctl = 158;
    private const ulong FUTEX_WAIT = 0, FUTEX_WAKE = 1, FUTEX_CMP_REQUEUE = 4, FUTEX_WAIT_BITSET = 9, FUTEX_WAKE_BITSET = 10, FUTEX_PRIVATE = 128;
    private const ulong PthreadFlags = 0x3d0f00; // glibc 2.36's pthread_create: VM|FS|FILES|SIGHAND|THREAD|SYSVSEM|SETTLS|PARENT_SETTID|CHILD_CLEARTID
    private const ulong SA_RESTORER = 0x04000000;
    private const int SIGUSR1 = 10;
    private const ulong Handler = 0x400100, Restorer = 0x400200, Tls = 0x7f00_0000_1000;

    private readonly SyscallHarness _h = new();
    private readonly RecordingCpu _cpu = new();
    private readonly ulong _mainStack;
    private readonly ulong _childStack;

    public ThreadCallsTests()
    {
        _h.Process.Cpu = _cpu;
        _mainStack = _h.Regs.rsp;
        _childStack = _h.Scratch + 0x80000;
    }

    private ulong Word => _h.Scratch + 0x100;

    private ulong Word2 => _h.Scratch + 0x140;

    private ulong Word3 => _h.Scratch + 0x180;

    private ulong TidWord => _h.Scratch + 0x104;

    private ulong ChildTidWord => _h.Scratch + 0x108;

    private bool OnMain => _h.Regs.rsp == _mainStack;

    private bool OnChild => _h.Regs.rsp == _childStack;

    private long StartThread(ulong stack = 0) =>
        _h.Call(Clone, PthreadFlags, stack == 0 ? _childStack : stack, TidWord, ChildTidWord, Tls);

    /// <summary>RLIMIT_STACK, which glibc's pthread_create takes as a new thread's stack size, reads 2 MiB: at Linux's
    /// 8 MiB a 512 MiB VM, whose address space is its memory, ran out after 61 threads.</summary>
    [Fact]
    public void Rlimit_stack_makes_a_thread_stack_of_2_MiB()
    {
        const ulong Prlimit64 = 302, Getrlimit = 97, RLIMIT_STACK = 3;
        Assert.Equal(0, _h.Call(Prlimit64, 0, RLIMIT_STACK, 0, Word));
        Assert.Equal(2UL << 20, _h.Read<ulong>(Word));
        Assert.Equal(ulong.MaxValue, _h.Read<ulong>(Word + 8));
        Assert.Equal(0, _h.Call(Getrlimit, RLIMIT_STACK, Word2));
        Assert.Equal(2UL << 20, _h.Read<ulong>(Word2));
    }

    [Fact]
    public void Pthread_create_flags_make_a_thread_that_starts_on_its_stack_with_its_tls_and_a_zero_result()
    {
        _h.Regs.rbx = 0xb0b;
        var tid = StartThread();
        Assert.Equal(2, tid);
        Assert.True(OnMain); // the creator goes on
        Assert.Equal(2, _h.Read<int>(TidWord)); // CLONE_PARENT_SETTID
        Assert.Equal(1, _h.Call(Gettid));
        Assert.Equal(2, _h.Process.Threads.Count);

        _h.Write(Word, 0u);
        Assert.Equal(0, _h.Call(Futex, Word, FUTEX_WAIT | FUTEX_PRIVATE, 0)); // main waits: the child runs
        Assert.True(OnChild);
        Assert.Equal(0UL, _h.Regs.rax); // clone's result in the child
        Assert.Equal(0xb0bUL, _h.Regs.rbx); // the creator's registers
        Assert.Equal(SyscallTrap.ReturnAddress, _h.Regs.rip);
        Assert.Equal(Tls, _cpu.FsBase);
        Assert.Equal(Tls, _h.Process.FsBase);
        Assert.Equal(2, _h.Call(Gettid));

        Assert.Equal(1, _h.Call(Futex, Word, FUTEX_WAKE | FUTEX_PRIVATE, 1));
        Assert.True(OnChild); // a wake does not switch
        _h.Call(Exit, 0);
        Assert.True(OnMain);
        Assert.Equal(0UL, _h.Regs.rax); // its wait returned 0
        Assert.Equal(0UL, _cpu.FsBase);
        Assert.Equal(1, _h.Process.Threads.Count);
        Assert.Null(_h.Process.Exit);
    }

    [Fact]
    public void Pthread_join_waits_on_the_tid_word_that_exit_clears_and_wakes()
    {
        StartThread();
        var tid = (uint)_h.Read<int>(ChildTidWord);
        Assert.Equal(0u, tid); // only CLONE_CHILD_SETTID writes it there; glibc's pthread_create has its own copy
        _h.Write(ChildTidWord, 2u);
        _h.Call(Futex, ChildTidWord, FUTEX_WAIT, 2); // main joins
        Assert.True(OnChild);
        _h.Call(Exit, 3);
        Assert.True(OnMain);
        Assert.Equal(0UL, _h.Regs.rax);
        Assert.Equal(0u, _h.Read<uint>(ChildTidWord));
        _h.Call(Exit, 5);
        Assert.Equal(new ProgramExit(5, null, null), _h.Process.Exit);
    }

    [Fact]
    public void The_program_ends_with_the_main_thread_status_when_it_exited_first()
    {
        StartThread();
        _h.Call(Exit, 7); // main
        Assert.True(OnChild);
        Assert.Null(_h.Process.Exit);
        _h.Call(Exit, 9);
        Assert.Equal(7, _h.Process.Exit!.Status);
    }

    [Fact]
    public void Exit_group_ends_every_thread()
    {
        StartThread();
        _h.Call(ExitGroup, 4);
        Assert.Equal(4, _h.Process.Exit!.Status);
    }

    [Fact]
    public void A_futex_wait_on_a_changed_word_is_eagain_and_a_misaligned_one_einval()
    {
        StartThread();
        _h.Write(Word, 1u);
        Assert.Equal(-Errno.EAGAIN, _h.Call(Futex, Word, FUTEX_WAIT, 0));
        Assert.Equal(-Errno.EINVAL, _h.Call(Futex, Word + 1, FUTEX_WAIT, 1));
        Assert.Equal(-Errno.EINVAL, _h.Call(Futex, Word, FUTEX_WAIT_BITSET, 1, 0, 0, 0)); // bitset 0
        Assert.Equal(-Errno.ENOSYS, _h.Call(Futex, Word, 6 /* FUTEX_LOCK_PI */, 0));
        Assert.True(OnMain);
    }

    [Fact]
    public void A_relative_timeout_passes_while_the_other_thread_waits_forever()
    {
        StartThread();
        _h.Write(_h.Scratch + 0x200, new Kernel.timespec { tv_sec = 0, tv_nsec = 5_000_000 });
        _h.Call(Futex, Word, FUTEX_WAIT, 0, _h.Scratch + 0x200);
        Assert.True(OnChild);
        _h.Call(Futex, Word2, FUTEX_WAIT, 0); // nothing runs now: the vCPU sleeps to main's deadline
        Assert.True(OnMain);
        Assert.Equal(-Errno.ETIMEDOUT, (long)_h.Regs.rax);
        Assert.Equal(5_000_000, _h.Clock.Slept);
    }

    [Fact]
    public void An_absolute_bitset_timeout_is_on_clock_monotonic()
    {
        StartThread();
        var deadline = _h.Clock.Monotonic + 7_000_000;
        _h.Write(_h.Scratch + 0x200, new Kernel.timespec { tv_sec = deadline / 1_000_000_000, tv_nsec = deadline % 1_000_000_000 });
        _h.Call(Futex, Word, FUTEX_WAIT_BITSET, 0, _h.Scratch + 0x200, 0, uint.MaxValue);
        _h.Call(Futex, Word2, FUTEX_WAIT, 0);
        Assert.True(OnMain);
        Assert.Equal(-Errno.ETIMEDOUT, (long)_h.Regs.rax);
        Assert.Equal(7_000_000, _h.Clock.Slept);
    }

    /// <summary>A clock whose sleeps end at once with EINTR, as the host's does when the VM is being stopped.</summary>
    private sealed class StoppingClock : IGuestClock
    {
        public long Monotonic => 1_000_000_000;

        public long Realtime => 2_000_000_000;

        public long Sleep(long ns) => -Errno.EINTR;
    }

    [Fact]
    public void A_vm_being_stopped_while_every_thread_waits_ends_a_wait_with_eintr()
    {
        StartThread();
        _h.Write(_h.Scratch + 0x200, new Kernel.timespec { tv_sec = 100 });
        _h.Call(Futex, Word, FUTEX_WAIT, 0, _h.Scratch + 0x200);
        Assert.True(OnChild);
        _h.Process.Clock = new StoppingClock();
        _h.Call(Exit, 0); // the main thread waits for 100 s: the vCPU would sleep, but the VM is being stopped
        Assert.True(OnMain);
        Assert.Equal(-Errno.EINTR, (long)_h.Regs.rax);
        Assert.Equal(SyscallTrap.ReturnAddress, _h.Regs.rip);
    }

    [Fact]
    public void Two_threads_waiting_forever_are_a_deadlock_that_names_both_waits()
    {
        StartThread();
        _h.Call(Futex, Word, FUTEX_WAIT, 0);
        var e = Assert.Throws<ProgramDeadlockException>(() => _h.Call(Futex, Word2, FUTEX_WAIT, 0));
        Assert.Contains($"thread 1 waits on the futex at 0x{Word:x}", e.Message, StringComparison.Ordinal);
        Assert.Contains($"thread 2 waits on the futex at 0x{Word2:x}", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_bitset_wake_that_shares_no_bit_wakes_nobody()
    {
        StartThread();
        _h.Call(Futex, Word, FUTEX_WAIT_BITSET, 0, 0, 0, 0b01);
        Assert.True(OnChild);
        Assert.Equal(0, _h.Call(Futex, Word, FUTEX_WAKE_BITSET, 1, 0, 0, 0b10));
        Assert.Equal(1, _h.Call(Futex, Word, FUTEX_WAKE_BITSET, 1, 0, 0, 0b11));
    }

    [Fact]
    public void Cmp_requeue_moves_waiters_to_the_other_word_and_checks_the_value()
    {
        StartThread();
        StartThread(_childStack + 0x10000);
        _h.Call(Futex, Word, FUTEX_WAIT, 0);      // main
        _h.Call(Futex, Word, FUTEX_WAIT, 0);      // thread 2
        Assert.Equal(3, _h.Call(Gettid));
        _h.Write(Word, 5u);
        Assert.Equal(-Errno.EAGAIN, _h.Call(Futex, Word, FUTEX_CMP_REQUEUE, 0, 1, Word3, 4));
        Assert.Equal(2, _h.Call(Futex, Word, FUTEX_CMP_REQUEUE, 1, 1, Word3, 5)); // wakes main, moves 2
        Assert.Equal(0, _h.Call(Futex, Word, FUTEX_WAKE, 10));
        Assert.Equal(1, _h.Call(Futex, Word3, FUTEX_WAKE, 10));
    }

    [Fact]
    public void Tgkill_interrupts_the_wait_of_that_thread_and_runs_its_handler_there()
    {
        _h.Write(_h.Scratch, new Kernel.kernel_sigaction { sa_handler = Handler, sa_flags = SA_RESTORER, sa_restorer = Restorer });
        Assert.Equal(0, _h.Call(RtSigaction, SIGUSR1, _h.Scratch, 0, 8));
        StartThread();
        _h.Write(_h.Scratch + 0x200, new Kernel.timespec { tv_sec = 100 });
        _h.Call(Futex, Word, FUTEX_WAIT, 0, _h.Scratch + 0x200); // main waits, with a timeout
        Assert.True(OnChild);
        Assert.Equal(-Errno.ESRCH, _h.Call(Tgkill, 1, 9, SIGUSR1));
        Assert.Equal(-Errno.ESRCH, _h.Call(Tgkill, 2, 1, SIGUSR1));
        Assert.Equal(0, _h.Call(Tgkill, 1, 1, SIGUSR1));
        Assert.Null(_h.Process.Exit);
        _h.Call(Futex, Word2, FUTEX_WAIT, 0); // the child waits: main takes its signal
        Assert.Equal(Handler, _h.Regs.rcx);
        Assert.Equal((ulong)SIGUSR1, _h.Regs.rdi);
        var uc = _h.Regs.rdx;
        Assert.Equal(-Errno.EINTR, _h.Read<long>(uc + 40 + 13 * 8)); // the wait's result, in the frame
        Assert.Equal(0, _h.Process.Clock.Monotonic - new ManualClock().Monotonic); // no time passed
        Assert.Equal(1, _h.Call(Gettid));
    }

    [Fact]
    public void A_thread_that_blocks_a_signal_is_not_woken_by_it_and_masks_are_per_thread()
    {
        StartThread();
        _h.Write(_h.Scratch + 0x40, SignalState.Bit(SIGUSR1));
        Assert.Equal(0, _h.Call(RtSigprocmask, 0, _h.Scratch + 0x40, 0, 8)); // main blocks SIGUSR1
        _h.Call(Futex, Word, FUTEX_WAIT, 0);
        Assert.True(OnChild);
        Assert.Equal(0UL, _h.Process.Signals.Mask); // the child's mask was copied at clone, before the block
        Assert.Equal(0, _h.Call(Tkill, 1, SIGUSR1));
        var e = Assert.Throws<ProgramDeadlockException>(() => _h.Call(Futex, Word2, FUTEX_WAIT, 0));
        Assert.Contains("thread 1", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_reader_of_an_empty_pipe_waits_for_the_writer_thread()
    {
        Assert.Equal(0, _h.Call(Pipe2, _h.Scratch + 0x300, 0));
        var readFd = (ulong)_h.Read<int>(_h.Scratch + 0x300);
        var writeFd = (ulong)_h.Read<int>(_h.Scratch + 0x304);
        StartThread();
        _h.Call(Read, readFd, _h.Scratch + 0x400, 16); // main reads: nothing there yet
        Assert.True(OnChild);
        _h.Write(_h.Scratch + 0x500, 0x6f6c6c6568UL); // "hello"
        Assert.Equal(5, _h.Call(Write, writeFd, _h.Scratch + 0x500, 5));
        _h.Call(Exit, 0);
        Assert.True(OnMain);
        Assert.Equal(5UL, _h.Regs.rax);
        Assert.Equal(0x6f6c6c6568UL, _h.Read<ulong>(_h.Scratch + 0x400) & 0xff_ffff_ffff);
    }

    [Fact]
    public void A_write_larger_than_the_pipe_waits_for_room_and_goes_on_where_it_stopped()
    {
        const ulong Source = 0x10000, First = 0x40000, Rest = 0x60000, Length = 100_000; // offsets in the scratch area
        Assert.Equal(0, _h.Call(Pipe2, _h.Scratch + 0x300, 0));
        var readFd = (ulong)_h.Read<int>(_h.Scratch + 0x300);
        var writeFd = (ulong)_h.Read<int>(_h.Scratch + 0x304);
        for (ulong i = 0; i < Length; i += 8)
            _h.Write(_h.Scratch + Source + i, i * 0x9e3779b97f4a7c15);
        StartThread();
        _h.Call(Write, writeFd, _h.Scratch + Source, Length); // 64 KiB fit, then main waits: the child runs
        Assert.True(OnChild);
        Assert.Equal(65536, _h.Call(Read, readFd, _h.Scratch + First, 65536));
        _h.Call(Futex, Word, FUTEX_WAIT, 0); // the child waits: main's write is served again and writes the rest
        Assert.True(OnMain);
        Assert.Equal(Length, _h.Regs.rax); // a blocking write returns once all of it is written, as Linux's
        Assert.Equal((long)(Length - 65536), _h.Call(Read, readFd, _h.Scratch + Rest, 65536));
        // what the pipe carried is the data once, in order: nothing written twice, nothing skipped
        var sent = _h.Process.User.Readable(_h.Scratch + Source, Length).ToArray();
        Assert.Equal(sent[..65536], _h.Process.User.Readable(_h.Scratch + First, 65536).ToArray());
        Assert.Equal(sent[65536..], _h.Process.User.Readable(_h.Scratch + Rest, Length - 65536).ToArray());
    }

    [Fact]
    public void A_time_slice_switches_to_a_ready_thread_and_back_with_every_register_as_it_was()
    {
        _cpu.Fpu = [0xaa];
        StartThread();
        _h.Regs.rip = 0x401234; // in the middle of the program's code
        _h.Regs.rcx = 0x77;
        _h.Regs.r11 = 0x88;
        var main = _h.Regs;
        Assert.Equal(SyscallAction.Continue, _h.Process.OnInterrupted(null!, ref _h.Regs));
        Assert.True(OnChild);
        Assert.Equal([0xaa], _cpu.Fpu); // the child starts with a copy of its creator's FPU state
        _cpu.Fpu = [0xcc];
        Assert.Null(_h.Process.OnInterrupted(null!, ref _h.Regs)); // still in the stub's return: left alone
        _h.Regs.rip = 0x402000; // the child ran on into its own code
        Assert.Equal(SyscallAction.Continue, _h.Process.OnInterrupted(null!, ref _h.Regs));
        Assert.True(OnMain);
        Assert.Equal(main.rip, _h.Regs.rip);
        Assert.Equal(main.rcx, _h.Regs.rcx);
        Assert.Equal(main.r11, _h.Regs.r11);
        Assert.Equal([0xaa], _cpu.Fpu);
        Assert.Equal(SyscallAction.Continue, _h.Process.OnInterrupted(null!, ref _h.Regs));
        Assert.Equal([0xcc], _cpu.Fpu);
    }

    [Fact]
    public void A_time_slice_with_nobody_else_ready_changes_nothing()
    {
        Assert.Null(_h.Process.OnInterrupted(null!, ref _h.Regs));
        StartThread();
        _h.Regs.rip = SyscallTrap.StubAddress; // inside the stub: left alone
        Assert.Null(_h.Process.OnInterrupted(null!, ref _h.Regs));
    }

    [Fact]
    public void Sched_yield_lets_a_ready_thread_run_first()
    {
        Assert.Equal(0, _h.Call(SchedYield));
        StartThread();
        _h.Call(SchedYield);
        Assert.True(OnChild);
        _h.Call(SchedYield);
        Assert.True(OnMain);
        Assert.Equal(0UL, _h.Regs.rax);
    }

    [Fact]
    public void Clone_past_the_thread_limit_or_of_a_process_is_eagain()
    {
        using var h = new SyscallHarness(maxThreads: 2);
        Assert.Equal(2, h.Call(Clone, PthreadFlags, h.Scratch + 0x80000, h.Scratch, h.Scratch, 0));
        Assert.Equal(-Errno.EAGAIN, h.Call(Clone, PthreadFlags, h.Scratch + 0x80000, h.Scratch, h.Scratch, 0));
        Assert.Equal(-Errno.EAGAIN, _h.Call(Clone, 17 /* SIGCHLD: fork */, 0, 0, 0, 0));
        Assert.Equal(-Errno.EAGAIN, _h.Call(Clone, 0x4111 /* CLONE_VM|CLONE_VFORK|SIGCHLD: posix_spawn */, 0, 0, 0, 0));
        Assert.Equal(-Errno.EFAULT, _h.Call(Clone, PthreadFlags, _childStack, 0x10, 0, 0));
        Assert.Equal(1, _h.Process.Threads.Count);
    }

    [Fact]
    public void A_function_is_at_ready_only_once_no_other_thread_can_run()
    {
        using var h = new SyscallHarness(function: true);
        var mainStack = h.Regs.rsp;
        var childStack = h.Scratch + 0x80000;
        Assert.Equal(2, h.Call(Clone, PthreadFlags, childStack, h.Scratch + 0x104, h.Scratch + 0x108, 0));
        h.Regs.rax = Read;
        h.Regs.rdi = 3;
        h.Regs.rsi = h.Scratch + 0x1000;
        h.Regs.rdx = 4096;
        Assert.Equal(SyscallAction.Continue, h.Process.OnSyscall(null!, ref h.Regs)); // the channel is empty: the child runs first
        Assert.Equal(childStack, h.Regs.rsp);
        h.Regs.rax = Futex;
        h.Regs.rdi = h.Scratch + 0x100;
        h.Regs.rsi = FUTEX_WAIT;
        h.Regs.rdx = 0;
        h.Regs.r10 = 0;
        Assert.Equal(SyscallAction.Ready, h.Process.OnSyscall(null!, ref h.Regs)); // the child waits: READY, on main's read
        Assert.Equal(mainStack, h.Regs.rsp);
        Assert.Equal(1, h.Process.Threads.Current.Tid);
        Assert.Equal((h.Scratch + 0x1000, 4096UL), h.Process.Channel!.PendingRead);
    }

    [Fact]
    public void Robust_lists_are_kept_per_thread()
    {
        Assert.Equal(0, _h.Call(SetRobustList, 0x5000, 24));
        Assert.Equal(-Errno.EINVAL, _h.Call(SetRobustList, 0x5000, 16));
        Assert.Equal(0, _h.Call(GetRobustList, 0, _h.Scratch, _h.Scratch + 8));
        Assert.Equal(0x5000UL, _h.Read<ulong>(_h.Scratch));
        Assert.Equal(24UL, _h.Read<ulong>(_h.Scratch + 8));
        Assert.Equal(-Errno.ESRCH, _h.Call(GetRobustList, 2, _h.Scratch, _h.Scratch + 8));
    }

    [Fact]
    public void The_fs_base_is_per_thread()
    {
        StartThread();
        Assert.Equal(0, _h.Call(ArchPrctl, 0x1002, 0x5000));
        _h.Call(Futex, Word, FUTEX_WAIT, 0);
        Assert.Equal(Tls, _cpu.FsBase);
        _h.Call(Futex, Word, FUTEX_WAKE, 1);
        _h.Call(Exit, 0);
        Assert.Equal(0x5000UL, _cpu.FsBase);
        Assert.Equal(0x5000UL, _h.Process.FsBase);
    }

    public void Dispose() => _h.Dispose();
}

using System.Diagnostics;
using System.Globalization;
using System.Text;
using Snapfn.Interop;
using Snapfn.Linux.Abi;
using Snapfn.Linux.Files;
using Snapfn.Linux.Loader;
using Snapfn.Linux.Memory;
using Snapfn.Linux.Syscalls;
using Snapfn.Linux.Threads;
using Snapfn.Vmm;

namespace Snapfn.Linux;

/// <summary>
/// An unmodified Linux program running in a ring-3 micro-VM, and the guest kernel state that the system-call
/// layer keeps for it, as gVisor's Sentry does for a task: its address space, file descriptors, working
/// directory, signal dispositions, FS base. Every `syscall` exits to <see cref="OnSyscall"/> on the vCPU
/// thread, which answers it from <see cref="SyscallTable"/>.
/// </summary>
public sealed class LinuxProcess : ISyscallHandler, IDisposable
{
    public const int Pid = 1;
    private const int HistoryLength = 16;

    private readonly ProcessOptions _options;
    private readonly string _tmpDirectory;
    private readonly SyscallRecord[] _history = new SyscallRecord[HistoryLength];
    private readonly HashSet<ulong> _reportedUnsupported = [];
    private readonly long _startedAt = Stopwatch.GetTimestamp();
    private readonly VdsoClock? _vdsoClock;
    private MicroVm? _vm;
    private readonly OutputTail _stderrTail;
    private long _historyCount;
    private bool _disposed;
    private Kvm.kvm_regs _registers;
    private bool _registersChanged;
    private int _fpuStateSize;
    private GuestThread? _fpuOwner;
    private ulong? _cpuFsBase;
    private Timer? _timeSlice;

    private LinuxProcess(ProcessOptions options)
    {
        _options = options;
        _tmpDirectory = Directory.CreateTempSubdirectory("snapfn-tmp-").FullName;
        try
        {
            Root = new RootFileSystem(options.RootDirectory,
                [.. options.Mounts, new RootMount("/tmp", _tmpDirectory, Writable: true) { Quota = options.TmpQuota }]);
        }
        catch
        {
            Directory.Delete(_tmpDirectory, recursive: true);
            throw;
        }
        if (options.VdsoPath is not null)
            _vdsoClock = new VdsoClock();
        Cwd = options.WorkingDirectory;
        _stderrTail = new OutputTail(options.StandardError);
        Clock = new HostGuestClock(this);
        Pipes = new PipeBuffers(options.PipeBufferLimit);
        Root.Fifos = new NamedPipes(Pipes);
        Threads = new ThreadScheduler(options.MaxThreads, Pid, Signals.Thread, () => TimeCalls.CpuNanoseconds(this));
        _fpuOwner = Threads.Current;
    }

    /// <summary>The invocation channel (fd 3) of a function's program; null for a plain program.</summary>
    public FunctionChannel? Channel { get; private set; }

    internal ProcessOptions Options => _options;

    internal string TmpDirectory => _tmpDirectory;

    /// <summary>The private /tmp's host directory and what it holds against <see cref="ProcessOptions.TmpQuota"/>.</summary>
    internal WritableSpace Tmp => Root.Space("/tmp")!;

    public RootFileSystem Root { get; }

    public FdTable Files { get; } = new();

    public string Cwd { get; set; }

    public int Umask { get; set; } = 0x12; // 022

    /// <summary>The supplementary groups setgroups gave the program (none at start).</summary>
    public IReadOnlyList<uint> Groups { get; set; } = [];

    public SignalState Signals { get; } = new();

    /// <summary>The program's threads and which one the vCPU runs.</summary>
    internal ThreadScheduler Threads { get; }

    /// <summary>What a thread switch changes in the vCPU besides the registers; tests put a recording one here.</summary>
    internal IThreadCpu Cpu { get; set; } = NoThreadCpu.Instance;

    /// <summary>setitimer's and timer_create's timers.</summary>
    public ProcessTimers Timers { get; } = new();

    /// <summary>What the program's pipes hold on the host, against <see cref="ProcessOptions.PipeBufferLimit"/>.</summary>
    public PipeBuffers Pipes { get; }

    /// <summary>Time the program spent waiting in system calls (sleeps, polls), which is not CPU time.</summary>
    internal long WaitedNs { get; set; }

    /// <summary>The clocks every wait and timer goes by; tests put a manual one here.</summary>
    internal IGuestClock Clock { get; set; }

    /// <summary>The registers of the system call being served (its stack pointer, for sigaltstack).</summary>
    internal ref readonly Kvm.kvm_regs Registers => ref _registers;

    /// <summary>The registers of the system call being served, to be changed (rt_sigreturn): what the program
    /// resumes with.</summary>
    internal ref Kvm.kvm_regs RegistersForUpdate()
    {
        _registersChanged = true;
        return ref _registers;
    }

    /// <summary>After a restore: the vCPU's FPU state and FS base are the running thread's.</summary>
    internal void ResetFpuOwner()
    {
        _fpuOwner = Threads.Current;
        _cpuFsBase = Threads.Current.FsBase;
    }

    /// <summary>The vCPU's FPU state for a signal frame; null without a VM.</summary>
    internal byte[]? SaveFpu()
    {
        var state = _vm?.GetFpuState();
        if (state is not null)
            _fpuStateSize = state.Length;
        return state;
    }

    /// <summary>Loads the FPU state a signal frame saved at <paramref name="address"/>; false if it cannot be read or
    /// KVM refuses it (a program that wrote garbage there). Without a VM there is nothing to load.</summary>
    internal bool RestoreFpu(ulong address)
    {
        if (_vm is null)
            return true;
        try
        {
            if (_fpuStateSize == 0)
                _fpuStateSize = _vm.GetFpuState().Length;
            _vm.SetFpuState(User.Readable(address, (ulong)_fpuStateSize).ToArray());
            return true;
        }
        catch (Exception e) when (e is BadAddressException or SyscallException)
        {
            return false;
        }
    }

    /// <summary>The running thread's FS base.</summary>
    public ulong FsBase
    {
        get => Threads.Current.FsBase;
        set => Threads.Current.FsBase = value;
    }

    /// <summary>prctl(PR_SET_NAME): at most 15 bytes, as the kernel's comm.</summary>
    public byte[] ThreadName { get; set; } = "snapfn-guest"u8.ToArray();

    public AddressSpace Space => Mappings.Space;

    public GuestMappings Mappings { get; private set; } = null!;

    public UserMemory User { get; private set; } = null!;

    public MicroVm Vm => _vm ?? throw new InvalidOperationException("the process has no VM yet");

    /// <summary>The guest's memory: the VM's, or the memory <see cref="WithoutVm"/> was given.</summary>
    internal GuestMemory Memory { get; private set; } = null!;

    /// <summary>True once the VM was asked to stop; a process without a VM never runs, so a wait there ends at once.</summary>
    internal bool StopRequested => _vm?.StopRequested ?? true;

    /// <summary>Sets the FS base in the vCPU (when there is one) and in the books.</summary>
    internal void SetFsBase(ulong value)
    {
        Cpu.SetFsBase(value);
        _cpuFsBase = value;
        FsBase = value;
    }

    /// <summary>The guest's memory size, for sysinfo and rlimits.</summary>
    public ulong MemorySize => _options.Vm.MemorySize;

    public TimeSpan Uptime => Stopwatch.GetElapsedTime(_startedAt);

    /// <summary>Set by exit, exit_group or a fatal signal; the run then ends.</summary>
    public ProgramExit? Exit { get; private set; }

    /// <summary>System calls served so far.</summary>
    public long SyscallCount => _historyCount;

    /// <summary>Boots a VM, loads the program into it and sets up fds 0-2; nothing runs until <see cref="Run"/>.</summary>
    public static LinuxProcess Start(ProcessOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var process = new LinuxProcess(options);
        try
        {
            var vdso = options.VdsoPath is { } vdsoPath ? Vdso.Load(vdsoPath) : null;
            process._vm = MicroVm.BootProcess(options.Vm, process, memory =>
            {
                process.Attach(memory, new AddressSpace(options.Vm.MemorySize));
                process.OpenStandardFiles();
                var program = GuestPath.Combine("/", options.Program);
                process.Root.ExecutablePath = program;
                return new ProgramLoader(process.Root, process.Mappings, memory).Load(program, options.Arguments, options.Environment, vdso);
            }, vdso?.Image);
            process.Cpu = new VmThreadCpu(process._vm);
            process._vdsoClock?.Attach(process._vm);
            return process;
        }
        catch
        {
            process.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Rebuilds the process of a snapshot around memory a restore mode has mapped into <paramref name="shell"/>:
    /// its address space, files (reopened by path), /tmp, signal state and the read it is waiting in; the VM
    /// then resumes at that read. <paramref name="options"/> gives what is the host's now: where output goes, the
    /// VM's limits, and the root, which must be the one the snapshot was taken with.
    /// </summary>
    public static LinuxProcess Restore(ProcessState state, ProcessOptions options, VmShell shell, GuestMemory memory, GuestLayout layout, VcpuState vcpu)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(shell);
        if (state.RootFingerprint != options.RootFingerprint)
        {
            shell.Dispose();
            throw new ProcessRestoreException(
                $"the runtime root changed since the snapshot was taken (packages {Short(state.RootFingerprint)} then, {Short(options.RootFingerprint)} now)");
        }
        LinuxProcess process;
        try
        {
            process = new LinuxProcess(options);
        }
        catch
        {
            shell.Dispose();
            throw;
        }
        try
        {
            process.Attach(memory, new AddressSpace(options.Vm.MemorySize));
            state.ApplyTo(process);
            process._vm = MicroVm.Restore(shell, memory, layout, vcpu, options.Vm, process,
                VmmPages.ForProcess(options.Vm.MemorySize, VdsoImage(state, options)));
            process.Cpu = new VmThreadCpu(process._vm);
            process._vdsoClock?.Attach(process._vm);
            return process; // a restored program with threads gets its time slice when it runs (BeforeRun)
        }
        catch
        {
            if (process._vm is null)
                shell.Dispose();
            process.Dispose();
            throw;
        }
    }

    /// <summary>The vDSO the VMM rebuilds into a restored program's window: the one it has now, which the snapshot's
    /// digest of the VMM's pages then checks is the one the program was started with.</summary>
    private static byte[] VdsoImage(ProcessState state, ProcessOptions options)
    {
        if (!state.Mappings.Any(m => m.Kind == MappingKind.Vdso))
            return [];
        if (options.VdsoPath is not { } path)
            throw new ProcessRestoreException("the snapshot's program was given a vDSO, and there is none now (guest/build/vdso.so): " +
                "build it with `make -C guest`, or take the snapshot again");
        return Vdso.Load(path).Image;
    }

    private static string Short(string? fingerprint) => fingerprint is null ? "none" : fingerprint[..Math.Min(12, fingerprint.Length)];

    /// <summary>The process's state at READY, for a snapshot (the VM's memory and vCPU are captured separately).</summary>
    public ProcessState Capture() => ProcessState.Capture(this);

    /// <summary>Runs the program to its end; a crash or timeout is thrown with the last system calls in the message.</summary>
    public ProgramExit Run()
    {
        Vm.RunToExit();
        return Exit!;
    }

    private void Attach(GuestMemory memory, AddressSpace space)
    {
        Memory = memory;
        Mappings = new GuestMappings(memory, space);
        User = new UserMemory(memory, space);
    }

    private void OpenStandardFiles()
    {
        Files.Add(new StreamFile("/dev/stdin", Libc.O_RDONLY, null, 0x10, _options.StandardInput), closeOnExec: false);
        Files.Add(StandardOutput(), closeOnExec: false);
        Files.Add(StandardError(), closeOnExec: false);
        if (_options.Function)
            OpenChannel();
    }

    internal StreamFile StandardOutput() => new("/dev/stdout", Libc.O_WRONLY, _options.StandardOutput, 0x11);

    internal StreamFile StandardError() => new("/dev/stderr", Libc.O_WRONLY, _stderrTail.Write, 0x12);

    internal ChannelFile OpenChannel()
    {
        var file = new ChannelFile(_options.MaxChannelFrame);
        Files.Set(ChannelFile.Descriptor, file, closeOnExec: false);
        file.Release(); // Set took its own reference
        Channel = new FunctionChannel(file);
        return file;
    }

    /// <summary>
    /// A process whose system calls are served without a VM, over <paramref name="memory"/> (which must outlive it),
    /// by whoever calls <see cref="OnSyscall"/>: for tests and the fuzzer's harness of the system-call table on
    /// machines without KVM. No program is loaded: the address space holds the stack and an empty heap; sleeps end at
    /// once (<see cref="StopRequested"/>) and the FS base is kept in the books only (<see cref="SetFsBase"/>).
    /// </summary>
    internal static LinuxProcess WithoutVm(ProcessOptions options, GuestMemory memory)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(memory);
        var process = new LinuxProcess(options);
        try
        {
            process.Attach(memory, new AddressSpace(memory.Size));
            process.Mappings.MapAnonymous(process.Space.StackBottom, AddressSpace.StackSize, Protection.Read | Protection.Write, MappingKind.Stack);
            process.Space.SetBrkStart(ProcessGuest.ProgramBase + (16UL << 20));
            process.OpenStandardFiles();
            return process;
        }
        catch
        {
            process.Dispose();
            throw;
        }
    }

    public SyscallAction OnSyscall(MicroVm vm, ref Kvm.kvm_regs regs)
    {
        var action = ServeCall(ref regs);
        if (action != SyscallAction.Continue)
            StopTimeSlice(); // the VM stops (READY, RESULT, an exit): no kicks while it is idle; BeforeRun starts them again
        return action;
    }

    private SyscallAction ServeCall(ref Kvm.kvm_regs regs)
    {
        var number = regs.rax;
        var args = new SyscallArgs(regs);
        var thread = Threads.Current;
        var (mask, savedMask) = (Signals.Mask, Signals.SavedMask);
        _registers = regs;
        _registersChanged = false;
        long result;
        try
        {
            result = Dispatch(number, args);
        }
        catch (ThreadBlockedException blocked)
        {
            // The call is over for now: what it changed of the mask is undone (a retry serves it again from the start).
            if (blocked.Wait is { } wait)
            {
                Signals.Mask = mask;
                Signals.SavedMask = savedMask;
                Threads.Block(regs, number, wait);
            }
            _vdsoClock?.Refresh();
            return Reschedule(ref regs);
        }
        _vdsoClock?.Refresh();
        if (result == FunctionChannel.Waiting)
        {
            if (!Threads.Multiple)
                return SyscallAction.Ready; // the read stays unfinished: RAX is set when the request comes
            // Other threads run first; READY is when none can (Reschedule).
            Threads.Block(regs, number, new ThreadWait(WaitKind.Channel, "reads its invocation channel"));
            return Reschedule(ref regs);
        }
        thread.CallDeadline = null;
        thread.CallCpuTarget = null;
        thread.CallProgress = 0;
        Threads.Progress();
        if (_registersChanged)
            regs = _registers;
        regs.rax = unchecked((ulong)result);
        return AfterCall(number, result, ref regs);
    }

    /// <summary>The end of a system call of the running thread (its result in RAX): timers, signal delivery, the
    /// end of the program, a result written to the channel.</summary>
    private SyscallAction AfterCall(ulong number, long result, ref Kvm.kvm_regs regs)
    {
        if (Exit is null)
        {
            Timers.Expire(this);
            if (Signals.Pending != 0 || result == -Waits.ERESTARTSYS)
                SignalDelivery.Deliver(this, number, ref regs);
        }
        if (Exit is not null)
            return Exited();
        return Channel?.TakeResult() is { } done ? Finish(done) : SyscallAction.Continue;
    }

    private SyscallAction Exited()
    {
        StopTimeSlice();
        if (_options.Function)
            throw new ProgramExitedException(Exit!, Channel?.HasServed == true ? "during a request" : "before it read its first request",
                _stderrTail.Text);
        return SyscallAction.Exited;
    }

    /// <summary>
    /// The running thread left the vCPU (it waits or exited): finds the next thread to run and puts it in
    /// <paramref name="regs"/>. A thread whose wait is a retry has its call served again here, without entering the
    /// guest; when no thread can run, the vCPU sleeps until the first deadline (a timeout, a timer), the program is at
    /// READY if a thread reads its empty channel, and otherwise nothing can ever end the waits: a deadlock.
    /// </summary>
    private SyscallAction Reschedule(ref Kvm.kvm_regs regs)
    {
        while (true)
        {
            if (Exit is not null)
                return Exited();
            Timers.Expire(this);
            var next = Threads.Next(Clock.Monotonic, Signals.ProcessPending);
            if (next is null)
            {
                if (Threads.ChannelWaiter is { } reader)
                {
                    Threads.MakeCurrent(reader);
                    SwitchTo(reader, ref regs);
                    regs.rip = SyscallTrap.ReturnAddress;
                    return SyscallAction.Ready;
                }
                if (!SleepUntilSomethingCanRun())
                {
                    // The guest is being stopped: a waiting thread (every live one waits) takes an EINTR, and the VM's
                    // loop, which sees the stop before it enters the guest again, ends the run.
                    var waiter = Threads.Waiting[0];
                    Threads.MakeCurrent(waiter);
                    SwitchTo(waiter, ref regs);
                    regs.rip = SyscallTrap.ReturnAddress;
                    regs.rax = unchecked((ulong)-Errno.EINTR);
                    return SyscallAction.Continue;
                }
                continue;
            }
            switch (next.Resume)
            {
                case ResumeKind.Preempted:
                    SwitchTo(next, ref regs);
                    return SyscallAction.Continue;
                case ResumeKind.FromSyscall:
                    SwitchTo(next, ref regs);
                    regs.rip = SyscallTrap.ReturnAddress;
                    regs.rax = unchecked((ulong)next.Result);
                    return AfterCall(next.SyscallNumber, next.Result, ref regs);
                default:
                    if (Retry(next, ref regs) is { } action)
                        return action;
                    break;
            }
        }
    }

    /// <summary>Serves again the call of a thread whose wait was a retry: its result and the end of the call, or null
    /// when it waits again.</summary>
    private SyscallAction? Retry(GuestThread thread, ref Kvm.kvm_regs regs)
    {
        Signals.Thread = thread.Signals;
        var number = thread.SyscallNumber;
        var (mask, savedMask) = (Signals.Mask, Signals.SavedMask);
        _registers = thread.Registers;
        _registersChanged = false;
        long result;
        try
        {
            result = Dispatch(number, new SyscallArgs(thread.Registers));
        }
        catch (ThreadBlockedException blocked)
        {
            if (blocked.Wait is { } wait)
            {
                Signals.Mask = mask;
                Signals.SavedMask = savedMask;
                Threads.Block(thread.Registers, number, wait);
            }
            return null;
        }
        thread.CallDeadline = null;
        thread.CallCpuTarget = null;
        thread.CallProgress = 0;
        Threads.Progress();
        SwitchTo(thread, ref regs);
        if (_registersChanged)
            regs = _registers;
        regs.rip = SyscallTrap.ReturnAddress;
        regs.rax = unchecked((ulong)result);
        return AfterCall(number, result, ref regs);
    }

    /// <summary>Puts <paramref name="thread"/> (already the scheduler's current) on the vCPU: its registers, signal
    /// state, FS base and, when another thread's is there, its FPU state.</summary>
    private void SwitchTo(GuestThread thread, ref Kvm.kvm_regs regs)
    {
        Signals.Thread = thread.Signals;
        regs = thread.Registers;
        _registers = regs;
        if (_cpuFsBase != thread.FsBase)
        {
            Cpu.SetFsBase(thread.FsBase); // two ioctls: only when the FS base differs
            _cpuFsBase = thread.FsBase;
        }
        if (_fpuOwner != thread)
        {
            // The vCPU holds the FPU state of the thread that ran last; it is kept unless that thread is gone.
            var state = Cpu.SaveFpu();
            if (_fpuOwner is { State: not GuestThreadState.Exited } owner)
                owner.Fpu = state;
            if (thread.Fpu is { } saved)
                Cpu.LoadFpu(saved);
            thread.Fpu = null;
            _fpuOwner = thread;
        }
    }

    /// <summary>No thread can run: sleeps until the earliest deadline of a waiting thread or of a timer whose signal
    /// would wake one. False when the guest is being stopped; throws <see cref="ProgramDeadlockException"/> when there
    /// is no such deadline.</summary>
    private bool SleepUntilSomethingCanRun()
    {
        var wake = Threads.NextDeadline();
        var timer = Timers.NextExpiry(signal => !Signals.IsIgnored(signal) &&
            Threads.Waiting.Any(t => t.Wait!.Kind != WaitKind.Channel && ((~t.Signals.Mask | t.Wait.AlsoWakeOn) & SignalState.Bit(signal)) != 0));
        if (timer is { } t && (wake is null || t < wake))
            wake = t;
        if (wake is null)
            throw new ProgramDeadlockException(Threads.DescribeWaits(), threads: true);
        var now = Clock.Monotonic;
        var slept = Clock.Sleep(Math.Max(0, wake.Value - now));
        WaitedNs += Math.Max(0, Clock.Monotonic - now);
        return slept >= 0;
    }

    /// <summary>
    /// The vCPU was interrupted between two instructions (the time slice's kick): when another thread is ready to run,
    /// the running one goes to the end of the run queue as it is and the next takes the vCPU. Null when nothing
    /// changed. A thread interrupted inside the system-call stub is left alone (its state is half the kernel's).
    /// </summary>
    public SyscallAction? OnInterrupted(MicroVm vm, ref Kvm.kvm_regs regs)
    {
        if (!Threads.Multiple || Exit is not null || regs.rip - SyscallTrap.StubAddress < 4096)
            return null;
        Timers.Expire(this);
        if (!Threads.WakeReady(Clock.Monotonic, Signals.ProcessPending))
            return null;
        Threads.Preempt(regs);
        var action = Reschedule(ref regs);
        if (action != SyscallAction.Continue)
            StopTimeSlice();
        return action;
    }

    /// <summary>Starts the time slice once a second thread exists (a VM only): every <see cref="ProcessOptions.TimeSlice"/>
    /// the vCPU is kicked, so that a thread that computes without system calls cannot keep the others from running.</summary>
    internal void StartTimeSlice()
    {
        if (_vm is not { } vm || _timeSlice is not null || _options.TimeSlice <= TimeSpan.Zero)
            return;
        _timeSlice = new Timer(_ => vm.Interrupt(), null, _options.TimeSlice, _options.TimeSlice);
    }

    internal void StopTimeSlice()
    {
        _timeSlice?.Dispose();
        _timeSlice = null;
    }

    private SyscallAction Finish(ChannelResult result)
    {
        if (result.Status == ChannelResult.InitFailed)
            throw new FunctionFailedException("the function failed to start: " + Encoding.UTF8.GetString(result.Body), _stderrTail.Text);
        return SyscallAction.Result;
    }

    public void BeforeRun(MicroVm vm)
    {
        _vdsoClock?.Refresh();
        if (Threads.Multiple && Exit is null)
            StartTimeSlice();
    }

    public void WriteInput(MicroVm vm, ReadOnlySpan<byte> input)
    {
        var channel = Channel ?? throw new InvalidOperationException("this program has no invocation channel");
        channel.Deliver(input);
        if (channel.TakePendingRead() is var (buffer, count))
        {
            long n;
            try
            {
                n = channel.File.Read(User.Writable(buffer, Math.Min(count, UserMemory.MaxTransfer)));
            }
            catch (BadAddressException)
            {
                n = -Errno.EFAULT;
            }
            vm.CompleteSyscall(n);
        }
    }

    public ReadOnlySpan<byte> Output => Channel is { } channel ? channel.Output : [];

    public void CheckResult()
    {
        if (Channel?.LastResult is { Status: not ChannelResult.Ok } failed)
            throw new FunctionFailedException(Encoding.UTF8.GetString(failed.Body), null);
    }

    public GuestFailureException Explain(GuestFailureException failure) => failure switch
    {
        GuestCrashedException crash => new ProgramCrashedException(crash, RecentSyscalls(), _stderrTail.Text),
        _ => failure,
    };

    /// <summary>CLOCK_MONOTONIC and CLOCK_REALTIME as the program sees them: from the vDSO's page when it has one
    /// (so that the trapped and the vDSO clock agree), else the host's.</summary>
    public (long Monotonic, long Realtime) Clocks() =>
        _vdsoClock?.Refresh() ?? (HostClock.MonotonicNs(), HostClock.RealtimeNs());

    /// <summary>Ends the program (exit_group, or a signal whose default action is to terminate).</summary>
    public void Terminate(ProgramExit exit) => Exit ??= exit;

    /// <summary>Serves system call <paramref name="number"/>: its result or a negated errno (an unsupported call is
    /// ENOSYS, reported once); a failure of the program is thrown (<see cref="Serve"/>). Every call that ends here is
    /// recorded (the crash report's last calls, the strace): a call that blocks is recorded when it ends, a read of
    /// the invocation channel never (it ends when the next request comes).</summary>
    internal long Dispatch(ulong number, in SyscallArgs args)
    {
        var result = ServeOrRefuse(number, args);
        if (result != FunctionChannel.Waiting)
            Record(number, args, result);
        return result;
    }

    private long ServeOrRefuse(ulong number, in SyscallArgs args)
    {
        var entry = SyscallTable.Lookup(number);
        if (entry?.Function is { } function)
            return Serve(this, function, number, args);
        if (entry is null || entry.Support == SupportLevel.Unsupported)
            ReportUnsupported(number, entry);
        return -(entry?.Errno ?? Errno.ENOSYS);
    }

    /// <summary>
    /// Runs one handler: the one place that guarantees that nothing a program passes becomes a VMM error. Argument
    /// problems are errnos (a bad pointer is EFAULT, a helper's <see cref="SyscallErrorException"/> its errno;
    /// handlers check ranges through <see cref="GuestRange"/> and <see cref="UserMemory"/>); any other exception stops
    /// the program as its own failure, naming the call, with the host's exception inside. A
    /// <see cref="GuestFailureException"/> (a broken result frame, a deadlock) already is one and passes through.
    /// </summary>
    internal static long Serve(LinuxProcess process, SyscallFunction function, ulong number, in SyscallArgs args)
    {
        try
        {
            return function(process, args);
        }
        catch (BadAddressException)
        {
            return -Errno.EFAULT;
        }
        catch (SyscallErrorException e)
        {
            return -e.Errno;
        }
        catch (Exception e) when (e is not (GuestFailureException or ThreadBlockedException))
        {
            throw new SyscallFailedException(Describe(number, args), e);
        }
    }

    private static string Describe(ulong number, in SyscallArgs a) =>
        $"{SyscallTable.Lookup(number)?.Name ?? $"syscall_{number}"}(0x{a.A0:x}, 0x{a.A1:x}, 0x{a.A2:x}, 0x{a.A3:x}, 0x{a.A4:x}, 0x{a.A5:x})";

    private void ReportUnsupported(ulong number, SyscallEntry? entry)
    {
        if (_reportedUnsupported.Add(number))
            _options.Warning?.Invoke($"snapfn: the program called {entry?.Name ?? "system call " + number.ToString(CultureInfo.InvariantCulture)}, " +
                "which Snapfn does not support: it got ENOSYS");
    }

    private void Record(ulong number, in SyscallArgs args, long result)
    {
        _history[_historyCount++ % HistoryLength] = new SyscallRecord(number, args.A0, args.A1, args.A2, result);
        if (_options.Strace is { } strace)
            strace.WriteLine(_history[(_historyCount - 1) % HistoryLength].Format());
    }

    /// <summary>The last system calls, oldest first, one a line, for crash reports.</summary>
    public string RecentSyscalls()
    {
        var lines = new StringBuilder();
        var first = Math.Max(0, _historyCount - HistoryLength);
        for (var i = first; i < _historyCount; i++)
            lines.Append("  ").AppendLine(_history[i % HistoryLength].Format());
        return lines.ToString();
    }

    public void Dispose()
    {
        if (_disposed)
            return;
        _disposed = true;
        StopTimeSlice();
        _vm?.Dispose();
        Files.Dispose();
        try
        {
            // By descriptor and unlinkat: a link the program left in /tmp is removed, not what it points to.
            TmpTree.Clear(Tmp.Directory);
        }
        catch (IOException)
        {
            // What cannot be removed is left for the OS's temp cleaning (the directory is private: 0700).
        }
        Root.Dispose();
        try
        {
            Directory.Delete(_tmpDirectory);
        }
        catch (IOException)
        {
        }
    }

    private readonly record struct SyscallRecord(ulong Number, ulong A0, ulong A1, ulong A2, long Result)
    {
        public string Format()
        {
            var name = SyscallTable.Lookup(Number)?.Name ?? $"syscall_{Number}";
            var result = Result is < 0 and >= -4095 ? $"-1 {Errno.Name((int)-Result)}" : $"0x{Result:x}";
            return $"{name}(0x{A0:x}, 0x{A1:x}, 0x{A2:x}) = {result}";
        }
    }
}

/// <summary>A Linux program crashed: the VM's report (registers, faulting address) and its last system calls.</summary>
public sealed class ProgramCrashedException : GuestFailureException
{
    public ProgramCrashedException(GuestCrashedException crash, string recentSyscalls, string stderrTail = "")
        : base($"program crashed: {crash?.Reason} at rip=0x{crash?.Regs.rip:x} (faulting address cr2=0x{crash?.Cr2:x}, rsp=0x{crash?.Regs.rsp:x}); " +
               $"last system calls:\n{recentSyscalls}" + (string.IsNullOrWhiteSpace(stderrTail) ? "" : $"its last output:\n{stderrTail.TrimEnd()}"), crash!)
    {
        Crash = crash!;
    }

    public GuestCrashedException Crash { get; }
}

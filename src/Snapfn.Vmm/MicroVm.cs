using System.Diagnostics;
using System.Runtime.CompilerServices;
using Snapfn.Interop;

namespace Snapfn.Vmm;

/// <summary>
/// A ring-3 micro-VM: guest memory, one vCPU on its own thread, and the hypercall loop. Built either by
/// booting an ELF (<see cref="Boot"/>) or from a snapshot's memory and vCPU state (<see cref="Restore"/>).
/// A VM whose guest failed (crash, timeout, protocol error) refuses further runs.
/// </summary>
public sealed class MicroVm : IDisposable
{
    private readonly VmShell _shell;
    private readonly IVcpu _vcpu;
    private readonly VcpuThread _thread;
    private readonly MicroVmOptions _options;
    private readonly ISyscallHandler? _syscalls;
    private volatile bool _stopRequested;
    private volatile string? _stopReason;
    private bool _failed;
    private bool _disposed;

    private MicroVm(VmShell shell, GuestMemory memory, GuestLayout layout, MicroVmOptions options, VmmPages pages, ISyscallHandler? syscalls = null)
    {
        if (memory.Mapping != shell.Memory)
            throw new ArgumentException("guest memory must be the shell's own mapping", nameof(memory));
        _options = options;
        GuestOutput = GuestOutputSwitch.Of(options.Output);
        _shell = shell;
        _vcpu = shell.Vcpu;
        _thread = shell.Thread;
        _syscalls = syscalls;
        Memory = memory;
        Layout = layout;
        OwnedPages = pages;
        if (!options.SyncRegisters && syscalls is null)
            _vcpu.RunPage.kvm_valid_regs = 0;
    }

    public GuestMemory Memory { get; }

    public GuestLayout Layout { get; }

    /// <summary>The VMM's own pages in this guest, as built at boot or rebuilt at restore.</summary>
    public VmmPages OwnedPages { get; }

    /// <summary>Where the guest's output goes (<see cref="MicroVmOptions.Output"/>): a VM that serves several requests
    /// points it at each request's receiver in turn.</summary>
    public GuestOutputSwitch GuestOutput { get; }

    /// <summary>The system-call layer of a Linux program's VM; null for a C-runtime guest.</summary>
    public ISyscallHandler? SyscallHandler => _syscalls;

    /// <summary>Creates a VM with fresh anonymous memory, loads <paramref name="elf"/> and sets up the CPU; nothing runs yet.</summary>
    public static MicroVm Boot(ElfImage elf, MicroVmOptions options)
    {
        ArgumentNullException.ThrowIfNull(elf);
        ArgumentNullException.ThrowIfNull(options);
        elf.CheckFits(options.MemorySize, options.Name);
        var layout = GuestLayout.For(options.MemorySize, elf.ImageEnd);
        var shell = VmShell.Create(options.MemorySize, options.Name);
        return Own(shell, () =>
        {
            var memory = new GuestMemory(shell.Memory);
            var pages = VmmPages.ForRuntime(layout);
            pages.WriteTo(memory);
            elf.CopyTo(memory);
            return new MicroVm(shell, memory, layout, options, pages);
        }, vm => vm._thread.Invoke(() =>
        {
            vm._vcpu.SetSregs(CpuSetup.InitialSregs(vm._vcpu.GetSregs()));
            vm._vcpu.SetXcr0(CpuSetup.Xcr0);
            vm._vcpu.SetRegs(CpuSetup.InitialRegs(elf.Entry, layout.StackTop));
        }));
    }

    /// <summary>
    /// Creates a VM for a Linux program: the low 2 MiB get the page tables, the GDT, a TSS that opens the
    /// system-call port and the system-call stub; <paramref name="load"/> then puts the program into memory (it may
    /// use addresses from <see cref="ProcessGuest.ProgramBase"/> and the read-only window) and says where it starts.
    /// Every `syscall` goes to <paramref name="syscalls"/>. <paramref name="vdsoImage"/> is the vDSO the loader maps at
    /// the start of the read-only window (empty: none), so that the VMM's pages are the ones a restore rebuilds.
    /// Nothing runs yet.
    /// </summary>
    public static MicroVm BootProcess(MicroVmOptions options, ISyscallHandler syscalls, Func<GuestMemory, ProcessStart> load, byte[]? vdsoImage = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(syscalls);
        ArgumentNullException.ThrowIfNull(load);
        if (VirtualCpu.Selected == CpuKind.Kvm && !KvmSystem.Shared.SupportsSyncRegs)
            throw new KvmUnavailableException("this KVM lacks KVM_CAP_SYNC_REGS, which Snapfn needs to serve a Linux program's system calls");
        // The C runtime's layout does not apply; only its size and page-table addresses are used.
        var layout = GuestLayout.For(options.MemorySize, GuestAbi.ElfBase);
        var shell = VmShell.Create(options.MemorySize, options.Name);
        return Own(shell, () =>
        {
            var memory = new GuestMemory(shell.Memory);
            var pages = VmmPages.ForProcess(options.MemorySize, vdsoImage);
            pages.WriteTo(memory);
            return new MicroVm(shell, memory, layout, options, pages, syscalls);
        }, vm =>
        {
            var start = load(vm.Memory);
            vm._thread.Invoke(() =>
            {
                vm._vcpu.SetSregs(ProcessGuest.InitialSregs(vm._vcpu.GetSregs()));
                vm._vcpu.SetXcr0(CpuSetup.Xcr0);
                vm._vcpu.SetMsrs(ProcessGuest.SyscallMsrs);
                vm._vcpu.SetRegs(ProcessGuest.InitialRegs(start));
            });
        });
    }

    /// <summary>Sets the FS base (arch_prctl(ARCH_SET_FS)); called by the system-call layer on the vCPU thread.</summary>
    public void SetFsBase(ulong value) => _thread.Invoke(() =>
    {
        var sregs = _vcpu.GetSregs();
        sregs.fs.@base = value;
        _vcpu.SetSregs(sregs);
    });

    /// <summary>The vCPU's FPU, SSE and AVX registers as an XSAVE area (KVM_GET_XSAVE): what a Linux program's signal
    /// frame saves, so that a handler cannot change the registers of the code it interrupted.</summary>
    public byte[] GetFpuState() => _thread.Invoke(() => _vcpu.GetXsave());

    /// <summary>Loads an XSAVE area back (rt_sigreturn); KVM refuses a malformed one with EINVAL.</summary>
    public void SetFpuState(byte[] xsave) => _thread.Invoke(() => _vcpu.SetXsave(xsave));

    /// <summary>The guest's TSC now (IA32_TSC through KVM), for a vDSO that computes time from rdtsc.</summary>
    public ulong ReadGuestTsc() => _thread.Invoke(() =>
        _vcpu.GetMsrs([0x10]) is [var tsc] ? tsc.Value : throw new InvalidOperationException("KVM refused to read IA32_TSC"));

    /// <summary>True once the watchdog or <see cref="Stop"/> asked the guest to stop: a system call that waits
    /// (nanosleep) checks it and gives up.</summary>
    public bool StopRequested => _stopRequested;

    /// <summary>Runs the program until it exits (a Linux program's VM).</summary>
    public GuestRun RunToExit()
    {
        var run = RunGuest();
        if (run.Stop != GuestStop.Exited)
            throw Fail(new GuestProtocolException($"the program stopped at {run.Stop} instead of exiting"));
        return run;
    }

    /// <summary>Makes a VM of <paramref name="shell"/>, whose memory (<paramref name="memory"/>) a restore mode has
    /// filled with the snapshot or mapped so that it will be, and loads the saved vCPU state. The snapshot is
    /// trusted for the guest's own state only: the VMM's pages are rebuilt over what the memory file holds
    /// (<paramref name="pages"/>; a C-runtime guest's by default, a Linux program's carry its vDSO) and the vCPU's
    /// control state is the VMM's (<see cref="CpuSetup.ForRestore"/>). The VM owns the shell from here on, also
    /// when this throws.</summary>
    public static MicroVm Restore(VmShell shell, GuestMemory memory, GuestLayout layout, VcpuState state, MicroVmOptions options,
        ISyscallHandler? syscalls = null, VmmPages? pages = null)
    {
        ArgumentNullException.ThrowIfNull(shell);
        ArgumentNullException.ThrowIfNull(memory);
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(options);
        return Own(shell, () =>
        {
            if (layout.MemorySize != shell.MemorySize)
                throw new ArgumentException($"the snapshot has {layout.MemorySize >> 20} MiB of memory, the shell {shell.MemorySize >> 20} MiB");
            var owned = pages ?? (syscalls is null
                ? VmmPages.ForRuntime(layout)
                : throw new ArgumentException("a Linux program's VM is restored with its VMM pages (they hold its vDSO)", nameof(pages)));
            owned.WriteTo(memory);
            return new MicroVm(shell, memory, layout, options, owned, syscalls);
        }, vm => vm._thread.Invoke(() => vm._vcpu.RestoreState(CpuSetup.ForRestore(state, vm._vcpu.GetSregs(), vm._syscalls is not null))));
    }

    /// <summary>Makes a VM that owns <paramref name="shell"/> and prepares it; if either step throws, the VM (or,
    /// before there is one, the shell) is disposed, so a failed boot or restore leaves nothing behind.</summary>
    private static MicroVm Own(VmShell shell, Func<MicroVm> create, Action<MicroVm> prepare)
    {
        MicroVm? vm = null;
        try
        {
            vm = create();
            prepare(vm);
            return vm;
        }
        catch
        {
            if (vm is not null)
                vm.Dispose();
            else
                shell.Dispose();
            throw;
        }
    }

    /// <summary>Runs init() up to the READY hypercall.</summary>
    public GuestRun RunToReady()
    {
        var run = RunGuest();
        if (run.Stop != GuestStop.Ready)
            throw Fail(new GuestProtocolException("the guest returned a result before it said READY"));
        return run;
    }

    /// <summary>Writes <paramref name="input"/> into the guest, resumes it and runs the request up to RESULT.</summary>
    public GuestRun Invoke(ReadOnlySpan<byte> input)
    {
        WriteInput(input);
        var run = RunGuest();
        if (run.Stop != GuestStop.Result)
            throw Fail(new GuestProtocolException(run.Stop == GuestStop.Exited
                ? "the program exited instead of returning a result"
                : "the guest said READY again instead of returning a result"));
        _syscalls?.CheckResult();
        return run;
    }

    /// <summary>Writes the next request's input where the guest expects it (the guest is stopped at READY or RESULT).</summary>
    public void WriteInput(ReadOnlySpan<byte> input)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_syscalls is not null)
        {
            _syscalls.WriteInput(this, input);
            return;
        }
        if ((ulong)input.Length > GuestLayout.IoBufferSize)
            throw new ArgumentException(
                $"input is {input.Length} bytes; a guest takes at most {GuestLayout.IoBufferSize >> 20} MiB", nameof(input));
        input.CopyTo(Memory.Span(Layout.InputAddress, (ulong)input.Length));
        Memory.Ref<Mailbox>(GuestAbi.MailboxAddress).InputLength = (ulong)input.Length;
    }

    /// <summary>The output of the last request.</summary>
    public ReadOnlySpan<byte> Output(GuestRun run) =>
        _syscalls is not null ? _syscalls.Output : Memory.Span(Layout.OutputAddress, run.OutputLength);

    /// <summary>Finishes the system call a Linux program is still in (its read of the channel at READY) with
    /// <paramref name="result"/>. After an exit the registers are in the run page, to be loaded at the next
    /// KVM_RUN; after a restore they are the vCPU's own.</summary>
    public void CompleteSyscall(long result) => _thread.Invoke(() =>
    {
        ref var run = ref _vcpu.RunPage;
        if ((run.kvm_dirty_regs & Kvm.KVM_SYNC_X86_REGS) != 0)
        {
            run.sync_regs.rax = unchecked((ulong)result);
            return;
        }
        var regs = _vcpu.GetRegs();
        regs.rax = unchecked((ulong)result);
        _vcpu.SetRegs(regs);
    });

    /// <summary>The vCPU state at READY, with the `out` that exited completed, ready for a snapshot.</summary>
    public VcpuState CaptureState()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return _thread.Invoke(() =>
        {
            _vcpu.CompletePendingIo();
            return _vcpu.CaptureState();
        });
    }

    private GuestRun RunGuest()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_failed)
            throw new InvalidOperationException("this VM's guest has failed; restore or boot a new one");
        if (_stopReason is null)
            _stopRequested = false;
        if (_syscalls is { } syscalls)
            _thread.Invoke(() => syscalls.BeforeRun(this));
        using var watchdog = new Timer(_ =>
        {
            _stopRequested = true;
            _vcpu.Kick();
        }, null, VirtualCpu.WatchdogDelay(_options.Timeout), Timeout.InfiniteTimeSpan);
        try
        {
            return _thread.Invoke(ExitLoop);
        }
        catch (GuestFailureException e)
        {
            throw Fail(e);
        }
    }

    /// <summary>Interrupts the running guest from another thread without stopping it: KVM_RUN returns, the system-call
    /// handler's <see cref="ISyscallHandler.OnInterrupted"/> runs (a time slice of a program's threads), and the
    /// guest goes on.</summary>
    public void Interrupt()
    {
        if (!_disposed)
            _vcpu.Preempt();
    }

    /// <summary>Stops the guest from another thread (a failed page server): the run in progress ends with
    /// <see cref="GuestStoppedException"/> carrying <paramref name="reason"/>.</summary>
    public void Stop(string reason)
    {
        _stopReason = reason;
        _stopRequested = true;
        _vcpu.Kick();
    }

    /// <summary>Stops the guest when <paramref name="cancel"/> fires; dispose the registration when the run is over.</summary>
    public CancellationTokenRegistration StopWhenCancelled(CancellationToken cancel) =>
        cancel.Register(() => Stop("the invocation was cancelled"));

    private GuestFailureException Fail(GuestFailureException e)
    {
        _failed = true;
        return _syscalls?.Explain(e) ?? e;
    }

    /// <summary>Runs the vCPU and serves hypercalls until READY or RESULT. Runs on the vCPU thread.</summary>
    private GuestRun ExitLoop()
    {
        long entered = 0;
        var exits = 0;
        while (true)
        {
            if (_stopRequested)
                throw _stopReason is { } reason ? new GuestStoppedException(reason) : new GuestTimeoutException(_options.Timeout);
            if (entered == 0)
                entered = Stopwatch.GetTimestamp();
            if (!_vcpu.Run())
            {
                VcpuThread.ConsumeKick();
                if (_stopRequested || _syscalls is null)
                    continue;
                // The registers by ioctl, not from the run page: an interruption is not an exit, and costs two ioctls
                // once a time slice, not once a system call.
                var interrupted = _vcpu.GetRegs();
                if (_syscalls.OnInterrupted(this, ref interrupted) is not { } after)
                    continue;
                _vcpu.SetRegs(interrupted);
                if (after == SyscallAction.Continue)
                    continue;
                var ended = after == SyscallAction.Result ? GuestStop.Result : after == SyscallAction.Ready ? GuestStop.Ready : GuestStop.Exited;
                return new GuestRun(ended, ended == GuestStop.Result ? (ulong)_syscalls.Output.Length : 0, entered, Stopwatch.GetTimestamp(), exits);
            }
            exits++;
            ref var run = ref _vcpu.RunPage;
            switch (run.exit_reason)
            {
                case Kvm.KVM_EXIT_IO when _syscalls is not null && run.io.port == SyscallTrap.Port:
                    if (run.io.direction != Kvm.KVM_EXIT_IO_OUT || run.io.size != 4 || run.io.count != 1)
                        throw Crash($"port I/O to the system-call port that is not the stub's (size {run.io.size}, direction {run.io.direction})");
                    var action = _syscalls.OnSyscall(this, ref run.sync_regs);
                    run.kvm_dirty_regs = Kvm.KVM_SYNC_X86_REGS;
                    if (action != SyscallAction.Continue)
                    {
                        var stopped = action switch
                        {
                            SyscallAction.Ready => GuestStop.Ready,
                            SyscallAction.Result => GuestStop.Result,
                            _ => GuestStop.Exited,
                        };
                        return new GuestRun(stopped, stopped == GuestStop.Result ? (ulong)_syscalls.Output.Length : 0,
                            entered, Stopwatch.GetTimestamp(), exits);
                    }
                    break;
                case Kvm.KVM_EXIT_IO when _syscalls is not null:
                    // A Linux program has one way out, its system calls: the C runtime's hypercalls (RESULT, READY,
                    // DISCARD, ...) are not served to it. Its TSS does not open their port, so this only happens on a
                    // VM whose TSS came from elsewhere (an older snapshot); it is a crash of the program either way.
                    throw Crash($"the program executed a privileged I/O instruction ({(run.io.direction == Kvm.KVM_EXIT_IO_OUT ? "out" : "in")} " +
                                $"to port 0x{run.io.port:x}); a Linux program may only make system calls");
                case Kvm.KVM_EXIT_IO:
                    var stop = OnPortIo(ref run);
                    if (stop is { } s)
                        return new GuestRun(s, s == GuestStop.Result ? Memory.Ref<Mailbox>(GuestAbi.MailboxAddress).Arg0 : 0,
                            entered, Stopwatch.GetTimestamp(), exits);
                    break;
                case Kvm.KVM_EXIT_INTR:
                    break;
                case Kvm.KVM_EXIT_SHUTDOWN:
                    throw Crash("unhandled exception (triple fault)", explainRip: true);
                case Kvm.KVM_EXIT_HLT:
                    throw Crash("hlt");
                case Kvm.KVM_EXIT_MMIO:
                    throw Crash($"access to 0x{run.mmio.phys_addr:x}, outside guest memory");
                case Kvm.KVM_EXIT_FAIL_ENTRY:
                    throw Crash($"VM entry failed (hardware reason 0x{run.fail_entry.hardware_entry_failure_reason:x})");
                case Kvm.KVM_EXIT_INTERNAL_ERROR:
                    throw Crash($"KVM internal error (suberror {run.@internal.suberror})");
                default:
                    throw Crash($"unexpected exit reason {run.exit_reason}");
            }
        }
    }

    /// <summary>Serves one `out` (<see cref="Hypercalls"/>): returns a stop for READY/RESULT, null for calls served in place.</summary>
    private GuestStop? OnPortIo(ref Kvm.kvm_run run)
    {
        var io = new PortIo(run.io.direction, run.io.port, run.io.size, run.io.count);
        ReadOnlySpan<byte> data;
        unsafe
        {
            // KVM's data area for the exit, io.size × io.count bytes at data_offset in the run page (KVM keeps it
            // there); a call needs 4, so no more than 8 are looked at.
            data = new ReadOnlySpan<byte>((byte*)Unsafe.AsPointer(ref run) + run.io.data_offset, (int)Math.Min((ulong)io.Size * io.Count, 8));
        }
        return Hypercalls.Serve(io, data, Memory, Layout, _options.Log, GuestOutput);
    }

    private GuestCrashedException Crash(string reason, bool explainRip = false)
    {
        var regs = _vcpu.GetRegs();
        var sregs = _vcpu.GetSregs();
        // Guest-virtual = guest-physical, so RIP reads straight from guest memory when it lies inside it.
        if (explainRip && Memory.Contains(regs.rip, 16) && PrivilegedInstruction.Describe(Memory.Span(regs.rip, 16)) is { } instruction)
            reason = $"{reason}: the {(_syscalls is null ? "guest" : "program")} executed {instruction}";
        return new GuestCrashedException(reason, regs, sregs.cr2);
    }

    /// <summary>Disposes the shell and, for a Linux program, the process state that goes with this VM.</summary>
    public void Dispose()
    {
        if (_disposed)
            return;
        _disposed = true;
        _shell.Dispose();
        (_syscalls as IDisposable)?.Dispose();
    }
}

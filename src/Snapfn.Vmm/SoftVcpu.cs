using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Snapfn.Interop;
using static Snapfn.Interop.Unicorn;

namespace Snapfn.Vmm;

/// <summary>
/// A vCPU emulated in software (Unicorn: QEMU's x86-64 TCG) over the same guest memory, for machines without KVM.
/// It keeps KVM's contract so that everything above it is unchanged: the guest runs at CPL 3 in long mode on the
/// VMM's own page tables and GDT, exits are reported in a kvm_run page, registers travel as KVM's structures.
/// What it does differently, and why:
/// <list type="bullet">
/// <item>A `syscall` is caught by Unicorn's hook instead of jumping to LSTAR. The exit is then presented as PVM
/// presents it: RCX and R11 as `syscall` sets them, RIP on the stub's `out` at LSTAR, which the next run completes
/// before the stub's `jmp rcx` runs for real (<see cref="SyscallTrap"/>).</item>
/// <item>Unicorn stops only at the end of a translated block, so an `out` reports its exit once the block ends; the
/// C runtime's hypercalls end their block right after the `out` (guest/runtime/src/hypercall.c), so nothing of the
/// guest runs between the `out` and the VMM's answer. Port permissions are not checked: the VMM refuses every port
/// a guest may not use when it serves the exit, which ends such a guest as KVM's #GP would.</item>
/// <item>A kick (<see cref="Kick"/>, the time slice's or the watchdog's) is not an asynchronous uc_emu_stop: Unicorn
/// 2.0 checks a stop request after every memory access inside a translated block too, and then leaves RIP at the
/// block's start with the block's first stores done, so the resumed guest ran them twice (a `lock inc` counted
/// twice, a preempted thread's mutex broken). The kick only sets a flag that a block hook reads on the vCPU's
/// thread, where a stop takes effect before the block's first instruction, as KVM's exit on a kick leaves the
/// guest between two instructions.</item>
/// <item>Any exception is a shutdown (the guest has no IDT: on KVM it is a triple fault); an access outside guest
/// memory is an MMIO exit, as on KVM.</item>
/// <item>Code that the VMM changes behind the CPU's back (a mapping replaced or discarded) would still run from
/// Unicorn's translation cache: the cache is dropped after every system call or hypercall that can do that.</item>
/// <item>CPUID says what the emulator runs (<see cref="SoftCpuid"/>: SSE up to 4.1, no POPCNT or AVX), so programs pick code
/// paths it runs; XSAVE areas hold the x87 and SSE state. The TSC is the host's.</item>
/// </list>
/// It is slower than KVM by one to two orders of magnitude: a correctness backend, never one to measure with.
/// </summary>
internal sealed unsafe class SoftVcpu : IVcpu
{
    private const ulong RunPageSize = 4096;
    private const ulong IoDataOffset = 2048;
    private const int XsaveSize = 4096;
    private const uint MsrEfer = 0xc0000080;

    /// <summary>Where the one-instruction trampoline that drops to CPL 3 is written, for one instruction: the unused
    /// tail of the GDT's page, supervisor-only in every layout and rewritten whole at every boot and restore.</summary>
    private const ulong TrampolineAddress = GuestLayout.GdtAddress + 0xf00;

    /// <summary>System calls after which code in guest memory may have changed: mmap, mprotect, munmap, brk,
    /// mremap, madvise, shmat, shmdt.</summary>
    private static readonly HashSet<ulong> _memoryCalls = [9, 10, 11, 12, 25, 28, 30, 67];

    /// <summary>The pages that loading the control state reads through the paging structures: the tables on the
    /// walk to the low 2 MiB, and the GDT's page (which also holds the trampoline).</summary>
    private static readonly ulong[] _walkedPages =
    [
        GuestLayout.Pml4Address, GuestLayout.PdptAddress, GuestLayout.PageDirectoriesAddress, GuestLayout.LowPageTableAddress,
        GuestLayout.GdtAddress,
    ];

    private static readonly int[] _generalRegisters =
    [
        UC_X86_REG_RAX, UC_X86_REG_RBX, UC_X86_REG_RCX, UC_X86_REG_RDX, UC_X86_REG_RSI, UC_X86_REG_RDI,
        UC_X86_REG_RSP, UC_X86_REG_RBP, UC_X86_REG_R8, UC_X86_REG_R8 + 1, UC_X86_REG_R8 + 2, UC_X86_REG_R8 + 3,
        UC_X86_REG_R8 + 4, UC_X86_REG_R8 + 5, UC_X86_REG_R8 + 6, UC_X86_REG_R8 + 7, UC_X86_REG_RIP, UC_X86_REG_RFLAGS,
    ];

    private readonly nint _uc;
    private readonly byte* _run;
    private readonly GCHandle _self;
    private readonly GuestMemory _memory;
    private readonly Dictionary<uint, ulong> _msrs = [];
    private Kvm.kvm_sregs _sregs;
    private bool _controlApplied;
    private ulong _xcr0;
    /// <summary>Set by <see cref="Kick"/>, read by the block hook through its address (the hook's user data): pinned, and
    /// managed so that a kick that races a dispose writes to live memory.</summary>
    private readonly int[] _kick = GC.AllocateArray<int>(1, pinned: true);

    /// <summary>Whether the block hook is in place (kicks are then only the flag), and whether it is wanted: when the
    /// guest starts a thread (so before any time slice) or at the first kick. It costs a call per translated block,
    /// which a guest that is never kicked does not pay.</summary>
    private volatile bool _blockHooked;
    private volatile bool _wantBlockHook;
    private volatile bool _running;

    // What the hooks saw during the last run.
    private Exit _exit;
    private uint _exitPort;
    private uint _exitSize;
    private uint _exitValue;
    private byte _exitDirection;
    private ulong _exitAddress;
    private ulong _syscallNumber;

    /// <summary>The stub's `out` that the last exit stopped on (0: none pending).</summary>
    private ulong _pendingOut;
    private bool _flushCode;

    private enum Exit { None, Syscall, PortIo, Exception, Unmapped, InvalidInstruction }

    public SoftVcpu(MemoryMapping memory)
    {
        ArgumentNullException.ThrowIfNull(memory);
        _memory = new GuestMemory(memory);
        // Built now, on a scratch engine: building it inside the cpuid hook would run one engine within another's run.
        _ = SoftCpuid.Answer(1);
        Check(uc_open(UC_ARCH_X86, UC_MODE_64, out _uc), "uc_open");
        _run = (byte*)NativeMemory.AllocZeroed((nuint)RunPageSize);
        _self = GCHandle.Alloc(this);
        try
        {
            Check(uc_mem_map_ptr(_uc, 0, (nuint)memory.Length, UC_PROT_ALL, (void*)memory.Address), "uc_mem_map_ptr");
            var user = GCHandle.ToIntPtr(_self);
            Check(uc_hook_add_insn(_uc, out _, UC_HOOK_INSN, (delegate* unmanaged<nint, nint, void>)&OnSyscall, user, 1, 0, UC_X86_INS_SYSCALL), "uc_hook_add(syscall)");
            Check(uc_hook_add_insn(_uc, out _, UC_HOOK_INSN, (delegate* unmanaged<nint, uint, int, uint, nint, void>)&OnOut, user, 1, 0, UC_X86_INS_OUT), "uc_hook_add(out)");
            Check(uc_hook_add_insn(_uc, out _, UC_HOOK_INSN, (delegate* unmanaged<nint, uint, int, nint, uint>)&OnIn, user, 1, 0, UC_X86_INS_IN), "uc_hook_add(in)");
            Check(uc_hook_add_insn(_uc, out _, UC_HOOK_INSN, (delegate* unmanaged<nint, nint, int>)&OnCpuid, user, 1, 0, UC_X86_INS_CPUID), "uc_hook_add(cpuid)");
            Check(uc_hook_add(_uc, out _, UC_HOOK_INTR, (delegate* unmanaged<nint, uint, nint, void>)&OnInterrupt, user, 1, 0), "uc_hook_add(intr)");
            Check(uc_hook_add(_uc, out _, UC_HOOK_MEM_UNMAPPED, (delegate* unmanaged<nint, int, ulong, int, long, nint, byte>)&OnUnmapped, user, 1, 0), "uc_hook_add(unmapped)");
            Check(uc_hook_add(_uc, out _, UC_HOOK_INSN_INVALID, (delegate* unmanaged<nint, nint, byte>)&OnInvalid, user, 1, 0), "uc_hook_add(invalid)");
            // The x87 and SSE control words a CPU has after reset, as KVM's new vCPU: Unicorn's read 0 (fnstcw and
            // stmxcsr said so), and once an XSAVE area holding them was loaded back (a thread switch, a signal
            // return) every x87 operation rounded to single precision and every SSE exception was unmasked.
            WriteRegister(UC_X86_REG_FPCW, 0x37f);
            WriteRegister(UC_X86_REG_FPTAG, 0xffff);
            WriteRegister(UC_X86_REG_MXCSR, 0x1f80);
        }
        catch
        {
            Dispose();
            throw;
        }
        RunPage.io.data_offset = IoDataOffset;
        // As KVM with KVM_CAP_SYNC_REGS: the registers are in the run page at every exit.
        RunPage.kvm_valid_regs = Kvm.KVM_SYNC_X86_REGS;
    }

    public ref Kvm.kvm_run RunPage => ref *(Kvm.kvm_run*)_run;

    public bool Run()
    {
        ref var run = ref RunPage;
        LoadDirtyRegisters();
        CompleteOut();
        bool? exited;
        do
            exited = RunUntilStopped(ref run);
        while (exited is null);
        if ((run.kvm_valid_regs & Kvm.KVM_SYNC_X86_REGS) != 0)
            run.sync_regs = GetRegs();
        return exited.Value;
    }

    /// <summary>One <c>uc_emu_start</c>, up to what stopped it: true for an exit in the run page, false for a kick,
    /// null when the guest goes on without an exit (a `syscall` into its own code at LSTAR). The caller loops rather
    /// than this recursing, so that a kick taken here is the caller's answer and not mistaken for a shutdown.</summary>
    private bool? RunUntilStopped(ref Kvm.kvm_run run)
    {
        if (_flushCode)
        {
            _flushCode = false;
            DropTranslatedCode();
        }
        if (_wantBlockHook && !_blockHooked)
        {
            // Added between runs, on this thread: the only time Unicorn allows it.
            Check(uc_hook_add(_uc, out _, UC_HOOK_BLOCK, (delegate* unmanaged<nint, ulong, uint, nint, void>)&OnBlock, Marshal.UnsafeAddrOfPinnedArrayElement(_kick, 0), 1, 0), "uc_hook_add(block)");
            _blockHooked = true;
            // The hook is compiled into each block as it is translated: code translated before (Python's eval loop,
            // long before its first thread) would never see a kick, and a guest spinning there ran past its watchdog
            // and kept its other threads from running. Translate everything again, this time with the hook: a full
            // flush (dropping guest memory's range left the old blocks in use), once in a VM's life.
            Check(uc_ctl(_uc, UC_CTL_TB_FLUSH_WRITE), "uc_ctl(TB_FLUSH)");
        }
        if (Interlocked.Exchange(ref _kick[0], 0) != 0)
            return false;
        _exit = Exit.None;
        ulong rip;
        Check(uc_reg_read(_uc, UC_X86_REG_RIP, &rip), "uc_reg_read(RIP)");
        _running = true;
        int error;
        try
        {
            error = uc_emu_start(_uc, rip, 0, 0, 0);
        }
        finally
        {
            _running = false;
        }
        var exited = Report(error, ref run);
        if (exited == false && Interlocked.Exchange(ref _kick[0], 0) == 0)
        {
            // Stopped with no hook called and nobody asking: Unicorn does this on a fault it cannot deliver (#UD
            // from `ud2` at CPL 3 with no IDT). On KVM the same guest triple-faults.
            run.exit_reason = Kvm.KVM_EXIT_SHUTDOWN;
            return true;
        }
        return exited;
    }

    /// <summary>Turns what the hooks saw into KVM's exit; false when no hook saw anything, null when the guest goes on.</summary>
    private bool? Report(int error, ref Kvm.kvm_run run)
    {
        switch (_exit)
        {
            case Exit.Syscall:
                return ReportSyscall(ref run);
            case Exit.PortIo:
                run.exit_reason = Kvm.KVM_EXIT_IO;
                run.io.direction = _exitDirection;
                run.io.size = (byte)_exitSize;
                run.io.port = (ushort)_exitPort;
                run.io.count = 1;
                run.io.data_offset = IoDataOffset;
                *(uint*)(_run + IoDataOffset) = _exitValue;
                if (_exitPort == GuestAbi.HypercallPort && _exitValue == (uint)Hypercall.Discard)
                    _flushCode = true;
                return true;
            case Exit.Unmapped:
                run.exit_reason = Kvm.KVM_EXIT_MMIO;
                run.mmio.phys_addr = _exitAddress;
                return true;
            case Exit.Exception:
            case Exit.InvalidInstruction:
                run.exit_reason = Kvm.KVM_EXIT_SHUTDOWN;
                return true;
        }
        if (error != UC_ERR_OK)
        {
            // An error no hook saw (an invalid instruction, a fetch from nowhere): the guest cannot go on.
            run.exit_reason = Kvm.KVM_EXIT_SHUTDOWN;
            return true;
        }
        return false;
    }

    /// <summary>
    /// Drops the translations of guest code whose bytes the VMM may have changed behind the CPU's back. Not with
    /// Unicorn's TB flush: Unicorn 2.0 clears its whole code buffer (1 GiB) at every flush, which cost ~0.1 s a
    /// memory system call and left 1 GiB resident per vCPU (eight restores at once stalled for minutes). Instead the
    /// translations of guest memory are invalidated by range, which costs nothing where no code was translated.
    /// Unicorn resolves the range's first address as an instruction fetch at the CPU's privilege, so the range
    /// starts at the lowest page a CPL-3 guest may use; below it lie only the VMM's supervisor pages, where guest
    /// code never runs.
    /// </summary>
    private void DropTranslatedCode()
    {
        if (LowestUserPage() is { } start)
            Check(uc_ctl(_uc, UC_CTL_TB_REMOVE_CACHE_WRITE, start, _memory.Size), "uc_ctl(TB_REMOVE_CACHE)");
        else
            Check(uc_ctl(_uc, UC_CTL_TB_FLUSH_WRITE), "uc_ctl(TB_FLUSH)");
    }

    private ulong? LowestUserPage()
    {
        if ((_sregs.cr0 & (1UL << 31)) == 0 || _sregs.cr3 != GuestLayout.Pml4Address || _memory.Size < GuestLayout.LargePageSize)
            return null;
        var low = _memory.Span(0, GuestLayout.LargePageSize);
        for (var page = GuestLayout.PageSize; page < _memory.Size; page += page < GuestLayout.LargePageSize ? GuestLayout.PageSize : GuestLayout.LargePageSize)
        {
            if ((PageTableBuilder.Translate(low, page) & PageTableBuilder.User) != 0)
                return page;
        }
        return null;
    }

    /// <summary>The `syscall` just executed (RIP is past it): do what the CPU does under PVM (RCX = return address,
    /// R11 = flags, RIP = LSTAR at CPL 3) and, when LSTAR holds the VMM's stub, report the stub's `out` as its exit;
    /// null when LSTAR holds other code, which then runs as any guest code does.</summary>
    private bool? ReportSyscall(ref Kvm.kvm_run run)
    {
        var regs = GetRegs();
        if ((_sregs.efer & CpuSetup.EferSyscallEnable) == 0 || !_msrs.TryGetValue(SyscallTrap.MsrLstar, out var lstar) || lstar == 0)
        {
            // Without EFER.SCE `syscall` is #UD: with no IDT, a shutdown.
            regs.rip -= 2;
            SetRegs(regs);
            run.exit_reason = Kvm.KVM_EXIT_SHUTDOWN;
            return true;
        }
        regs.rcx = regs.rip;
        regs.r11 = regs.rflags;
        regs.rip = lstar;
        SetRegs(regs);
        if (_memoryCalls.Contains(_syscallNumber))
            _flushCode = true;
        if (!_memory.Contains(lstar, 2) || _memory.Span(lstar, 2) is not [0xe7, var port])
            return null; // not the stub: the guest's own code at LSTAR runs on
        run.exit_reason = Kvm.KVM_EXIT_IO;
        run.io.direction = Kvm.KVM_EXIT_IO_OUT;
        run.io.size = 4;
        run.io.port = port;
        run.io.count = 1;
        run.io.data_offset = IoDataOffset;
        *(uint*)(_run + IoDataOffset) = (uint)regs.rax;
        _pendingOut = lstar;
        return true;
    }

    /// <summary>As KVM_RUN with immediate_exit: the registers the VMM left in the run page are loaded first, then the
    /// pending `out` is completed (<see cref="CompleteOut"/>), and the run page shows the result. Loading them first
    /// matters: a snapshot at READY completes the `out` here while the run page still holds the exit's registers
    /// (RIP on the `out`), and the next run loaded those back over the completed RIP and ran the `out` again, as a
    /// system call whose number was the read's result.</summary>
    public void CompletePendingIo()
    {
        LoadDirtyRegisters();
        CompleteOut();
        if ((RunPage.kvm_valid_regs & Kvm.KVM_SYNC_X86_REGS) != 0)
            RunPage.sync_regs = GetRegs();
    }

    private void LoadDirtyRegisters()
    {
        ref var run = ref RunPage;
        if ((run.kvm_dirty_regs & Kvm.KVM_SYNC_X86_REGS) != 0)
        {
            SetRegs(run.sync_regs);
            run.kvm_dirty_regs &= ~Kvm.KVM_SYNC_X86_REGS;
        }
    }

    /// <summary>As KVM does (complete_fast_pio_out): the `out` is skipped only when RIP is still on it, that is for
    /// the thread whose exit it was; a VMM that put another thread's registers in place has its RIP kept.</summary>
    private void CompleteOut()
    {
        if (_pendingOut == 0)
            return;
        var pending = _pendingOut;
        _pendingOut = 0;
        if (ReadRegister(UC_X86_REG_RIP) == pending)
            WriteRegister(UC_X86_REG_RIP, pending + 2);
    }

    /// <summary>
    /// Interrupts the run in progress (or the next) exactly between two instructions, so that the guest goes on from
    /// there (a time slice). Only a flag is set here: Unicorn's uc_emu_stop is not safe from another thread. Called so
    /// every 10 ms it raced with the vCPU thread's own stops and resumed guests with an instruction executed twice or a
    /// register lost (node jumped into its stack, V8 found its snapshot's checksum wrong, a `lock inc` counted twice).
    /// The block hook (<see cref="OnBlock"/>) makes the stop on the vCPU thread, before a block runs. It costs a call
    /// per translated block, so it is added only when wanted: when the guest calls clone or clone3, or at the first
    /// preemption (which then takes effect at the guest's next exit).
    /// </summary>
    public void Preempt()
    {
        Interlocked.Exchange(ref _kick[0], 1);
        _wantBlockHook = true;
    }

    /// <summary>
    /// Stops the run in progress (or the next) for good: the watchdog's or a stop's, after which the VM is failed and
    /// never resumed. Where the block hook is in place the flag is enough; otherwise the run is stopped from this
    /// thread, which may leave the guest's state torn (see <see cref="Preempt"/>) but never the VMM's, and the state
    /// of a failed VM is not used again. Unicorn forgets a stop that arrives before its run has really begun, so the
    /// stop is repeated until the run has noticed it or no run is in progress.
    /// </summary>
    public void Kick()
    {
        Interlocked.Exchange(ref _kick[0], 1);
        for (var attempt = 0; attempt < 1000 && !_blockHooked && _running && Volatile.Read(ref _kick[0]) != 0; attempt++)
        {
            _ = uc_emu_stop(_uc);
            Thread.Sleep(attempt == 0 ? 0 : 1);
        }
    }

    public Kvm.kvm_regs GetRegs()
    {
        Kvm.kvm_regs regs;
        var values = stackalloc void*[_generalRegisters.Length];
        var slots = (ulong*)&regs;
        for (var i = 0; i < _generalRegisters.Length; i++)
            values[i] = slots + i;
        fixed (int* ids = _generalRegisters)
            Check(uc_reg_read_batch(_uc, ids, values, _generalRegisters.Length), "uc_reg_read_batch");
        return regs;
    }

    public void SetRegs(Kvm.kvm_regs regs)
    {
        var values = stackalloc void*[_generalRegisters.Length];
        var slots = (ulong*)&regs;
        for (var i = 0; i < _generalRegisters.Length; i++)
            values[i] = slots + i;
        fixed (int* ids = _generalRegisters)
            Check(uc_reg_write_batch(_uc, ids, values, _generalRegisters.Length), "uc_reg_write_batch");
    }

    public Kvm.kvm_sregs GetSregs()
    {
        var sregs = _sregs;
        sregs.fs.@base = ReadRegister(UC_X86_REG_FS_BASE);
        sregs.gs.@base = ReadRegister(UC_X86_REG_GS_BASE);
        sregs.cr2 = ReadRegister(UC_X86_REG_CR2);
        return sregs;
    }

    public void SetSregs(Kvm.kvm_sregs sregs)
    {
        if (!_controlApplied || !SameControl(sregs, _sregs))
            ApplyControl(sregs);
        _sregs = sregs;
        WriteRegister(UC_X86_REG_FS_BASE, sregs.fs.@base);
        WriteRegister(UC_X86_REG_GS_BASE, sregs.gs.@base);
    }

    private static bool SameControl(in Kvm.kvm_sregs a, in Kvm.kvm_sregs b) =>
        a.cr0 == b.cr0 && a.cr3 == b.cr3 && a.cr4 == b.cr4 && a.efer == b.efer &&
        a.gdt.@base == b.gdt.@base && a.gdt.limit == b.gdt.limit && a.idt.@base == b.idt.@base && a.idt.limit == b.idt.limit &&
        a.cs.selector == b.cs.selector && a.ss.selector == b.ss.selector && a.ds.selector == b.ds.selector &&
        a.es.selector == b.es.selector && a.fs.selector == b.fs.selector && a.gs.selector == b.gs.selector &&
        a.tr.selector == b.tr.selector && a.tr.@base == b.tr.@base;

    /// <summary>
    /// Loads paging, the descriptor tables and the segments. Unicorn starts at CPL 0 and refuses to load a CPL-3 SS
    /// from there, so this does what an operating system does: load the kernel's selectors, then `iretq` to the
    /// guest's CS and SS through a one-instruction trampoline (the guest's own RIP, RSP and flags are set after).
    /// </summary>
    private void ApplyControl(in Kvm.kvm_sregs sregs)
    {
        // The iretq and the selector loads below walk the page tables and read the GDT, and the CPU sets the
        // accessed bits on that walk; KVM_SET_SREGS writes no guest memory. The pages they touch are put back as
        // they were, so that a restored guest's memory is the snapshot's until the guest runs.
        Span<byte> saved = stackalloc byte[_walkedPages.Length * (int)GuestLayout.PageSize];
        for (var i = 0; i < _walkedPages.Length; i++)
            _memory.Span(_walkedPages[i], GuestLayout.PageSize).CopyTo(saved[(i * (int)GuestLayout.PageSize)..]);
        try
        {
            LoadControl(sregs);
        }
        finally
        {
            for (var i = 0; i < _walkedPages.Length; i++)
                saved.Slice(i * (int)GuestLayout.PageSize, (int)GuestLayout.PageSize).CopyTo(_memory.Span(_walkedPages[i], GuestLayout.PageSize));
        }
    }

    private void LoadControl(in Kvm.kvm_sregs sregs)
    {
        var regs = GetRegs();
        WriteRegister(UC_X86_REG_CR3, sregs.cr3);
        WriteRegister(UC_X86_REG_CR4, sregs.cr4);
        var efer = new uc_x86_msr { rid = MsrEfer, value = sregs.efer };
        Check(uc_reg_write(_uc, UC_X86_REG_MSR, &efer), "uc_reg_write(EFER)");
        WriteRegister(UC_X86_REG_CR0, sregs.cr0);
        var gdtr = new uc_x86_mmr { @base = sregs.gdt.@base, limit = sregs.gdt.limit };
        Check(uc_reg_write(_uc, UC_X86_REG_GDTR, &gdtr), "uc_reg_write(GDTR)");
        var idtr = new uc_x86_mmr { @base = sregs.idt.@base, limit = sregs.idt.limit };
        Check(uc_reg_write(_uc, UC_X86_REG_IDTR, &idtr), "uc_reg_write(IDTR)");
        var tr = new uc_x86_mmr
        {
            selector = sregs.tr.selector, @base = sregs.tr.@base, limit = sregs.tr.limit,
            flags = (uint)(sregs.tr.type << 8 | sregs.tr.present << 15),
        };
        Check(uc_reg_write(_uc, UC_X86_REG_TR, &tr), "uc_reg_write(TR)");
        WriteSelector(UC_X86_REG_CS, GdtBuilder.KernelCode);
        WriteSelector(UC_X86_REG_SS, GdtBuilder.KernelData);
        DropToCpl3(sregs.cs.selector, sregs.ss.selector);
        WriteSelector(UC_X86_REG_DS, sregs.ds.selector);
        WriteSelector(UC_X86_REG_ES, sregs.es.selector);
        WriteSelector(UC_X86_REG_FS, sregs.fs.selector);
        WriteSelector(UC_X86_REG_GS, sregs.gs.selector);
        SetRegs(regs);
        _controlApplied = true;
        _flushCode = true;
    }

    /// <summary>The one-instruction trampoline; its bytes and frame are overwritten with the rest of the GDT's page
    /// when <see cref="ApplyControl"/> puts that page back.</summary>
    private void DropToCpl3(ushort cs, ushort ss)
    {
        const int frameOffset = 0x40;
        var tail = _memory.Span(TrampolineAddress, 0x80);
        tail[0] = 0x48; // iretq
        tail[1] = 0xcf;
        var frame = MemoryMarshal.Cast<byte, ulong>(tail.Slice(frameOffset, 40));
        frame[0] = TrampolineAddress + 2; // RIP: anywhere; the guest's registers are loaded after
        frame[1] = cs;
        frame[2] = CpuSetup.RflagsReserved;
        frame[3] = TrampolineAddress + frameOffset; // RSP
        frame[4] = ss;
        WriteRegister(UC_X86_REG_RSP, TrampolineAddress + frameOffset);
        Check(uc_emu_start(_uc, TrampolineAddress, 0, 0, 1), "dropping to CPL 3 (iretq)");
        ushort loaded;
        Check(uc_reg_read(_uc, UC_X86_REG_CS, &loaded), "uc_reg_read(CS)");
        if (loaded != cs)
            throw new SyscallException($"the software CPU did not enter CPL 3 (CS is 0x{loaded:x}, not 0x{cs:x}): is the GDT in place?");
    }

    public void SetXcr0(ulong value) => _xcr0 = value;

    public byte[] GetXsave()
    {
        var area = new byte[XsaveSize];
        var legacy = area.AsSpan();
        var fsw = (ushort)ReadRegister(UC_X86_REG_FPSW);
        var tags = ReadRegister(UC_X86_REG_FPTAG);
        BitConverter.TryWriteBytes(legacy[0..], (ushort)ReadRegister(UC_X86_REG_FPCW));
        BitConverter.TryWriteBytes(legacy[2..], fsw);
        byte abridged = 0;
        for (var i = 0; i < 8; i++)
        {
            if (((tags >> (2 * i)) & 3) != 3)
                abridged |= (byte)(1 << i);
        }
        legacy[4] = abridged;
        BitConverter.TryWriteBytes(legacy[24..], (uint)ReadRegister(UC_X86_REG_MXCSR));
        BitConverter.TryWriteBytes(legacy[28..], 0xffffu);
        var top = (fsw >> 11) & 7;
        var register = stackalloc byte[16];
        for (var i = 0; i < 8; i++)
        {
            // The area holds ST(i), i.e. physical register (TOP + i) mod 8.
            Check(uc_reg_read(_uc, UC_X86_REG_FP0 + ((top + i) & 7), register), "uc_reg_read(FP)");
            new ReadOnlySpan<byte>(register, 10).CopyTo(legacy[(32 + 16 * i)..]);
        }
        for (var i = 0; i < 16; i++)
        {
            Check(uc_reg_read(_uc, UC_X86_REG_XMM0 + i, register), "uc_reg_read(XMM)");
            new ReadOnlySpan<byte>(register, 16).CopyTo(legacy[(160 + 16 * i)..]);
        }
        BitConverter.TryWriteBytes(legacy[512..], 3UL); // XSTATE_BV: x87 and SSE
        return area;
    }

    public void SetXsave(ReadOnlySpan<byte> xsave)
    {
        if (xsave.Length < XsaveSize)
            throw new ArgumentException($"an XSAVE area is at least {XsaveSize} bytes, not {xsave.Length}", nameof(xsave));
        var mxcsr = BitConverter.ToUInt32(xsave[24..]);
        var features = BitConverter.ToUInt64(xsave[512..]);
        var compacted = BitConverter.ToUInt64(xsave[520..]);
        // What KVM refuses: MXCSR's reserved bits, state components this CPU lacks, the compacted form, a
        // non-zero reserved header. (AVX's upper halves, bit 2, are accepted and dropped: this CPU has no AVX,
        // so nothing running on it can have used them.)
        if ((mxcsr & ~0xffffu) != 0 || (features & ~7UL) != 0 || compacted != 0 || xsave.Slice(528, 48).ContainsAnyExcept((byte)0))
            throw new SyscallException("ioctl(KVM_SET_XSAVE)", 22 /* EINVAL */);
        var fsw = BitConverter.ToUInt16(xsave[2..]);
        if ((features & 1) != 0)
        {
            WriteRegister(UC_X86_REG_FPCW, BitConverter.ToUInt16(xsave[0..]));
            WriteRegister(UC_X86_REG_FPSW, fsw);
            ulong tags = 0;
            for (var i = 0; i < 8; i++)
                tags |= ((xsave[4] >> i) & 1) != 0 ? 0UL : 3UL << (2 * i);
            WriteRegister(UC_X86_REG_FPTAG, tags);
        }
        else
        {
            WriteRegister(UC_X86_REG_FPCW, 0x37f);
            WriteRegister(UC_X86_REG_FPSW, 0);
            WriteRegister(UC_X86_REG_FPTAG, 0xffff);
            fsw = 0;
        }
        var top = (fsw >> 11) & 7;
        var register = stackalloc byte[16];
        for (var i = 0; i < 8; i++)
        {
            new Span<byte>(register, 16).Clear();
            if ((features & 1) != 0)
                xsave.Slice(32 + 16 * i, 10).CopyTo(new Span<byte>(register, 10));
            Check(uc_reg_write(_uc, UC_X86_REG_FP0 + ((top + i) & 7), register), "uc_reg_write(FP)");
        }
        for (var i = 0; i < 16; i++)
        {
            new Span<byte>(register, 16).Clear();
            if ((features & 2) != 0)
                xsave.Slice(160 + 16 * i, 16).CopyTo(new Span<byte>(register, 16));
            Check(uc_reg_write(_uc, UC_X86_REG_XMM0 + i, register), "uc_reg_write(XMM)");
        }
        WriteRegister(UC_X86_REG_MXCSR, mxcsr);
    }

    public IReadOnlyList<MsrValue> GetMsrs(IReadOnlyList<uint> indices)
    {
        ArgumentNullException.ThrowIfNull(indices);
        var result = new List<MsrValue>();
        foreach (var index in indices)
        {
            if (index == 0x10) // IA32_TSC: the emulated rdtsc reads the host's
                result.Add(new MsrValue(index, HostTsc.Read()));
            else if (_msrs.TryGetValue(index, out var value))
                result.Add(new MsrValue(index, value));
            else if (index == 0x277)
                result.Add(new MsrValue(index, CpuSetup.DefaultPat));
        }
        return result;
    }

    public void SetMsrs(IReadOnlyList<MsrValue> msrs)
    {
        ArgumentNullException.ThrowIfNull(msrs);
        foreach (var msr in msrs)
        {
            // The TSC follows the host's and cannot be set; KERNEL_GS_BASE and TSC_AUX matter to no CPL-3 code
            // this CPU runs (no swapgs, no rdtscp), so they are only kept for the snapshot.
            if (msr.Index != 0x10)
                _msrs[msr.Index] = msr.Value;
        }
    }

    public VcpuState CaptureState()
    {
        var xcrs = new Kvm.kvm_xcrs { nr_xcrs = 1 };
        xcrs.xcrs[0] = new Kvm.kvm_xcr { xcr = 0, value = _xcr0 };
        return new VcpuState(GetRegs(), GetSregs(), GetXsave(), xcrs, GetMsrs(VcpuState.SavedMsrs));
    }

    public void RestoreState(VcpuState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        // Guest memory was put back (a VM reset in place): translations of code the guest wrote since are stale.
        _flushCode = true;
        SetSregs(state.Sregs);
        if (state.Xcrs.nr_xcrs > 0)
            _xcr0 = state.Xcrs.xcrs[0].value;
        SetXsave(state.Xsave);
        SetMsrs(state.Msrs);
        SetRegs(state.Regs);
    }

    private ulong ReadRegister(int id)
    {
        ulong value = 0;
        Check(uc_reg_read(_uc, id, &value), $"uc_reg_read({id})");
        return value;
    }

    private void WriteRegister(int id, ulong value) => Check(uc_reg_write(_uc, id, &value), $"uc_reg_write({id})");

    private void WriteSelector(int id, ushort selector)
    {
        ulong value = selector;
        Check(uc_reg_write(_uc, id, &value), $"loading segment selector 0x{selector:x}");
    }

    private static SoftVcpu Of(nint user) => (SoftVcpu)GCHandle.FromIntPtr(user).Target!;

    /// <summary>The start of every translated block, before its first instruction: a pending kick stops the run
    /// here, where RIP is exact and nothing of the block has run. (Its user data is the kick flag itself, so that
    /// the hook costs a read.) The trampoline that drops to CPL 3 is the VMM's, not the guest's: it is not stopped.</summary>
    [UnmanagedCallersOnly]
    private static void OnBlock(nint uc, ulong address, uint size, nint kickPending)
    {
        if (address != TrampolineAddress && Volatile.Read(ref *(int*)kickPending) != 0)
            _ = uc_emu_stop(uc);
    }

    [UnmanagedCallersOnly]
    private static void OnSyscall(nint uc, nint user)
    {
        var vcpu = Of(user);
        vcpu._exit = Exit.Syscall;
        vcpu._syscallNumber = vcpu.ReadRegister(UC_X86_REG_RAX);
        if (vcpu._syscallNumber is 56 or 435) // clone, clone3: a second thread will need time slices
            vcpu._wantBlockHook = true;
        _ = uc_emu_stop(uc);
    }

    [UnmanagedCallersOnly]
    private static void OnOut(nint uc, uint port, int size, uint value, nint user)
    {
        var vcpu = Of(user);
        if (vcpu._exit != Exit.None)
            return;
        vcpu._exit = Exit.PortIo;
        vcpu._exitDirection = Kvm.KVM_EXIT_IO_OUT;
        vcpu._exitPort = port;
        vcpu._exitSize = (uint)size;
        vcpu._exitValue = value;
        _ = uc_emu_stop(uc);
    }

    [UnmanagedCallersOnly]
    private static uint OnIn(nint uc, uint port, int size, nint user)
    {
        var vcpu = Of(user);
        if (vcpu._exit == Exit.None)
        {
            vcpu._exit = Exit.PortIo;
            vcpu._exitDirection = 0; // KVM_EXIT_IO_IN
            vcpu._exitPort = port;
            vcpu._exitSize = (uint)size;
            vcpu._exitValue = 0;
            _ = uc_emu_stop(uc);
        }
        return 0;
    }

    [UnmanagedCallersOnly]
    private static int OnCpuid(nint uc, nint user)
    {
        var vcpu = Of(user);
        if (SoftCpuid.Answer((uint)vcpu.ReadRegister(UC_X86_REG_RAX)) is not { } answer)
            return 0; // Unicorn's own answer
        vcpu.WriteRegister(UC_X86_REG_RAX, answer.Eax);
        vcpu.WriteRegister(UC_X86_REG_RBX, answer.Ebx);
        vcpu.WriteRegister(UC_X86_REG_RCX, answer.Ecx);
        vcpu.WriteRegister(UC_X86_REG_RDX, answer.Edx);
        return 1;
    }

    [UnmanagedCallersOnly]
    private static void OnInterrupt(nint uc, uint number, nint user)
    {
        var vcpu = Of(user);
        if (vcpu._exit is Exit.None or Exit.PortIo)
            vcpu._exit = Exit.Exception;
        _ = uc_emu_stop(uc);
    }

    [UnmanagedCallersOnly]
    private static byte OnUnmapped(nint uc, int type, ulong address, int size, long value, nint user)
    {
        var vcpu = Of(user);
        if (vcpu._exit == Exit.None)
        {
            vcpu._exit = Exit.Unmapped;
            vcpu._exitAddress = address;
        }
        return 0; // not handled: the run stops
    }

    [UnmanagedCallersOnly]
    private static byte OnInvalid(nint uc, nint user)
    {
        var vcpu = Of(user);
        if (vcpu._exit == Exit.None)
            vcpu._exit = Exit.InvalidInstruction;
        return 0; // not handled: the run stops
    }

    public void Dispose()
    {
        if (_uc != 0)
            _ = uc_close(_uc);
        if (_self.IsAllocated)
            _self.Free();
        NativeMemory.Free(_run);
    }
}

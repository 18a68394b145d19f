using System.Buffers.Binary;
using Snapfn.Interop;
using Snapfn.Linux.Abi;
using Snapfn.Linux.Memory;

namespace Snapfn.Linux.Syscalls;

/// <summary>
/// Runs a pending signal's handler the way Linux's x86-64 kernel does: at the end of a system call, an rt_sigframe
/// is pushed on the program's stack (or its alternate stack, with SA_ONSTACK) — the return address sa_restorer, a
/// ucontext holding every general register, the flags, the signal mask and a pointer to the FPU state saved after
/// it, then the siginfo — and the call returns into the handler with (signal, &amp;info, &amp;uc). The handler
/// returns to sa_restorer, whose rt_sigreturn puts it all back. Signals are only ever delivered at system-call
/// boundaries (nothing interrupts a program between two calls), so the saved RCX is the saved RIP and R11 the flags,
/// as the `syscall` instruction leaves them; the return goes through the system-call stub, which jumps to RCX.
/// A signal with its default action ends the program with that signal, as Linux's (stop signals included: nothing
/// could continue it).
/// </summary>
internal static class SignalDelivery
{
    public const ulong SA_SIGINFO = 4, SA_RESTORER = 0x04000000, SA_ONSTACK = 0x08000000, SA_RESTART = 0x10000000,
        SA_NODEFER = 0x40000000, SA_RESETHAND = 0x80000000;
    public const int SS_ONSTACK = 1, SS_DISABLE = 2;
    public const int SIGSEGV = 11;

    // struct rt_sigframe { char *pretcode; struct ucontext uc; struct siginfo info; } and the ucontext's fields.
    private const int UcontextOffset = 8, UcontextSize = 304, SiginfoOffset = UcontextOffset + UcontextSize, SiginfoSize = 128;
    public const int FrameSize = SiginfoOffset + SiginfoSize;
    private const int UcStack = 16, UcMcontext = 40, UcSigmask = 296;
    private const int McFlags = 136, McFpstate = 184;
    private const ulong UC_SIGCONTEXT_SS = 2;

    /// <summary>The flags a handler or rt_sigreturn may set (Linux's FIX_EFLAGS less TF and RF): never IOPL or IF.</summary>
    private const ulong UserFlags = 0x1 | 0x4 | 0x10 | 0x40 | 0x80 | 0x400 | 0x800 | 0x40000; // CF PF AF ZF SF DF OF AC
    private const ulong DirectionFlag = 0x400;
    private const ulong UserAddressLimit = 1UL << 47;

    /// <summary>Delivers the first deliverable pending signal (if any) into <paramref name="regs"/>, whose RAX holds
    /// the result of system call <paramref name="number"/>: a handler's frame, the end of the program, or nothing
    /// for an ignored signal. A call interrupted with ERESTARTSYS becomes EINTR, or runs again when the handler has
    /// SA_RESTART or no handler ran.</summary>
    public static void Deliver(LinuxProcess p, ulong number, ref Kvm.kvm_regs regs)
    {
        var signals = p.Signals;
        while (p.Exit is null)
        {
            var signal = signals.Take(signals.Mask, out var info);
            if (signal == 0)
                break;
            ref var action = ref signals.Action(signal);
            if (signals.IsIgnored(signal))
                continue;
            if (action.sa_handler == SignalState.Default || signal is SignalState.SIGKILL or SignalState.SIGSTOP)
            {
                p.Terminate(new ProgramExit(0, signal, SignalState.DumpsCore(signal) ? "core dumped (no core is written)" : null));
                return;
            }
            if (unchecked((long)regs.rax) == -Waits.ERESTARTSYS)
            {
                if ((action.sa_flags & SA_RESTART) != 0)
                    Restart(number, ref regs);
                else
                    regs.rax = unchecked((ulong)-Errno.EINTR);
            }
            PushFrame(p, signal, info, ref action, ref regs);
            return;
        }
        if (unchecked((long)regs.rax) == -Waits.ERESTARTSYS)
            Restart(number, ref regs);
    }

    /// <summary>Makes the program run the call again: back over its 2-byte `syscall`, with the number in RAX.</summary>
    private static void Restart(ulong number, ref Kvm.kvm_regs regs)
    {
        regs.rcx -= 2;
        regs.rax = number;
    }

    private static void PushFrame(LinuxProcess p, int signal, SignalInfo info, ref Kernel.kernel_sigaction action, ref Kvm.kvm_regs regs)
    {
        var signals = p.Signals;
        if ((action.sa_flags & SA_RESTORER) == 0)
        {
            // x86-64 has no default trampoline: Linux cannot build the frame either, and kills with SIGSEGV.
            p.Terminate(new ProgramExit(0, SIGSEGV, $"the handler of signal {signal} was installed without SA_RESTORER, so it has nowhere to return to"));
            return;
        }
        var stack = signals.AlternateStack;
        var sp = regs.rsp;
        var onAlternate = OnAlternateStack(stack, sp);
        if ((action.sa_flags & SA_ONSTACK) != 0 && (stack.ss_flags & SS_DISABLE) == 0 && !onAlternate)
            sp = stack.ss_sp + stack.ss_size;
        else
            sp -= 128; // the red zone below the interrupted code's stack pointer is its own
        var savedMask = signals.SavedMask ?? signals.Mask;
        try
        {
            ulong fpstate = 0;
            if (p.SaveFpu() is { Length: > 0 } fpu)
            {
                sp = (sp - (ulong)fpu.Length) & ~63UL;
                p.User.Write(sp, fpu);
                fpstate = sp;
            }
            sp = ((sp - FrameSize) & ~15UL) - 8; // as after a call: (rsp + 8) is 16-byte aligned at the handler's entry
            var frame = p.User.Writable(sp, FrameSize);
            frame.Clear();
            BinaryPrimitives.WriteUInt64LittleEndian(frame, action.sa_restorer);
            var uc = frame.Slice(UcontextOffset, UcontextSize);
            BinaryPrimitives.WriteUInt64LittleEndian(uc, UC_SIGCONTEXT_SS);
            BinaryPrimitives.WriteUInt64LittleEndian(uc[UcStack..], stack.ss_sp);
            BinaryPrimitives.WriteInt32LittleEndian(uc[(UcStack + 8)..], (stack.ss_flags & SS_DISABLE) != 0 ? SS_DISABLE : onAlternate ? SS_ONSTACK : 0);
            BinaryPrimitives.WriteUInt64LittleEndian(uc[(UcStack + 16)..], stack.ss_size);
            WriteRegisters(uc[UcMcontext..], regs);
            BinaryPrimitives.WriteUInt64LittleEndian(uc[(UcMcontext + McFpstate)..], fpstate);
            BinaryPrimitives.WriteUInt64LittleEndian(uc[UcSigmask..], savedMask);
            var si = frame.Slice(SiginfoOffset, SiginfoSize);
            BinaryPrimitives.WriteInt32LittleEndian(si, signal);
            BinaryPrimitives.WriteInt32LittleEndian(si[8..], info.Code);
            if (info.Code == SignalInfo.SI_TIMER)
            {
                BinaryPrimitives.WriteInt32LittleEndian(si[16..], info.TimerId);
                BinaryPrimitives.WriteInt32LittleEndian(si[20..], info.Overrun);
                BinaryPrimitives.WriteUInt64LittleEndian(si[24..], info.Value);
            }
            else if (info.Code is SignalInfo.SI_USER or SignalInfo.SI_TKILL)
            {
                BinaryPrimitives.WriteInt32LittleEndian(si[16..], LinuxProcess.Pid); // si_pid; si_uid is 0 (root)
            }
        }
        catch (BadAddressException)
        {
            // The stack cannot take the frame: as Linux, the program dies of SIGSEGV.
            p.Terminate(new ProgramExit(0, SIGSEGV, $"signal {signal}'s frame does not fit on the program's stack at 0x{sp:x}"));
            return;
        }
        signals.Mask = (signals.Mask | action.sa_mask | ((action.sa_flags & SA_NODEFER) != 0 ? 0 : SignalState.Bit(signal))) & ~SignalState.Unblockable;
        signals.SavedMask = null;
        var handler = action.sa_handler;
        if ((action.sa_flags & SA_RESETHAND) != 0)
            action = new Kernel.kernel_sigaction { sa_flags = action.sa_flags & ~(SA_RESETHAND | SA_SIGINFO) };
        regs.rdi = (ulong)signal;
        regs.rsi = sp + SiginfoOffset;
        regs.rdx = sp + UcontextOffset;
        regs.rax = 0;
        regs.rsp = sp;
        regs.rcx = handler; // the stub returns to RCX
        regs.r11 &= ~DirectionFlag; // sysretq loads the flags from R11; the ABI wants DF clear at a function's entry
        regs.rflags &= ~DirectionFlag;
    }

    private static bool OnAlternateStack(Kernel.stack_t stack, ulong sp) =>
        (stack.ss_flags & SS_DISABLE) == 0 && sp > stack.ss_sp && sp - stack.ss_sp <= stack.ss_size;

    /// <summary>sigcontext: r8-r15, rdi, rsi, rbp, rbx, rdx, rax, rcx, rsp, rip, eflags, then cs/gs/fs/ss, err,
    /// trapno, oldmask, cr2 (0 here: no fault) and the fpstate pointer.</summary>
    private static void WriteRegisters(Span<byte> mc, in Kvm.kvm_regs r)
    {
        ReadOnlySpan<ulong> values = [r.r8, r.r9, r.r10, r.r11, r.r12, r.r13, r.r14, r.r15, r.rdi, r.rsi, r.rbp, r.rbx, r.rdx, r.rax, r.rcx, r.rsp, r.rcx, r.r11];
        for (var i = 0; i < values.Length; i++)
            BinaryPrimitives.WriteUInt64LittleEndian(mc[(i * 8)..], values[i]);
    }

    /// <summary>rt_sigreturn: the registers, mask, alternate stack and FPU state of the frame whose ucontext is at the
    /// stack pointer (the handler's `ret` popped sa_restorer). A frame that cannot be read, or that would resume at
    /// a kernel address, ends the program with SIGSEGV, as on Linux. Returns the restored RAX.</summary>
    public static long Return(LinuxProcess p, ref Kvm.kvm_regs regs)
    {
        var ucAddress = regs.rsp;
        byte[] uc;
        try
        {
            uc = p.User.Readable(ucAddress, UcontextSize).ToArray();
        }
        catch (BadAddressException)
        {
            p.Terminate(new ProgramExit(0, SIGSEGV, $"rt_sigreturn found no signal frame at 0x{ucAddress:x}"));
            return 0;
        }
        var mc = uc.AsSpan(UcMcontext);
        ulong Reg(int index) => BinaryPrimitives.ReadUInt64LittleEndian(uc.AsSpan(UcMcontext + index * 8));
        var rip = Reg(16);
        if (rip >= UserAddressLimit)
        {
            p.Terminate(new ProgramExit(0, SIGSEGV, $"rt_sigreturn to 0x{rip:x}, outside the program's addresses"));
            return 0;
        }
        var fpstate = BinaryPrimitives.ReadUInt64LittleEndian(mc[McFpstate..]);
        if (fpstate != 0 && !p.RestoreFpu(fpstate))
        {
            p.Terminate(new ProgramExit(0, SIGSEGV, $"rt_sigreturn found no valid FPU state at 0x{fpstate:x}"));
            return 0;
        }
        regs.r8 = Reg(0);
        regs.r9 = Reg(1);
        regs.r10 = Reg(2);
        regs.r12 = Reg(4);
        regs.r13 = Reg(5);
        regs.r14 = Reg(6);
        regs.r15 = Reg(7);
        regs.rdi = Reg(8);
        regs.rsi = Reg(9);
        regs.rbp = Reg(10);
        regs.rbx = Reg(11);
        regs.rdx = Reg(12);
        regs.rax = Reg(13);
        regs.rsp = Reg(15);
        regs.rcx = rip; // back through the stub's jump to RCX: RCX is RIP again, as right after a `syscall`
        var flags = BinaryPrimitives.ReadUInt64LittleEndian(mc[McFlags..]);
        regs.r11 = (regs.r11 & ~UserFlags) | (flags & UserFlags);
        regs.rflags = (regs.rflags & ~UserFlags) | (flags & UserFlags);
        p.Signals.Mask = BinaryPrimitives.ReadUInt64LittleEndian(uc.AsSpan(UcSigmask)) & ~SignalState.Unblockable;
        var stack = new Kernel.stack_t
        {
            ss_sp = BinaryPrimitives.ReadUInt64LittleEndian(uc.AsSpan(UcStack)),
            ss_flags = BinaryPrimitives.ReadInt32LittleEndian(uc.AsSpan(UcStack + 8)),
            ss_size = BinaryPrimitives.ReadUInt64LittleEndian(uc.AsSpan(UcStack + 16)),
        };
        // As Linux's restore_altstack: a valid setting is taken, an invalid one left alone.
        if (SignalCalls.CheckAlternateStack(stack) == 0)
            p.Signals.AlternateStack = stack with { ss_flags = stack.ss_flags & SS_DISABLE };
        return unchecked((long)regs.rax);
    }
}

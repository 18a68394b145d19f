using Snapfn.Linux.Abi;
using static Snapfn.Linux.Syscalls.SyscallArgs;

namespace Snapfn.Linux.Syscalls;

/// <summary>rt_sigaction, rt_sigprocmask, sigaltstack, rt_sigpending, rt_sigsuspend, pause, rt_sigtimedwait and
/// rt_sigreturn: the signal state of <see cref="SignalState"/>, delivered by <see cref="SignalDelivery"/>.</summary>
internal static class SignalCalls
{
    private const int MINSIGSTKSZ = 2048;
    private const int SS_AUTODISARM = 1 << 31;

    private const ulong SA_NOCLDSTOP = 1, SA_NOCLDWAIT = 2, SA_EXPOSE_TAGBITS = 0x800;

    /// <summary>Linux's UAPI_SA_FLAGS on x86-64: the sa_flags bits rt_sigaction keeps.</summary>
    private const ulong UapiFlags = SA_NOCLDSTOP | SA_NOCLDWAIT | SignalDelivery.SA_SIGINFO | SignalDelivery.SA_ONSTACK |
        SignalDelivery.SA_RESTART | SignalDelivery.SA_NODEFER | SignalDelivery.SA_RESETHAND | SA_EXPOSE_TAGBITS | SignalDelivery.SA_RESTORER;

    public static long RtSigaction(LinuxProcess p, in SyscallArgs a)
    {
        var signal = AsInt(a.A0);
        if (!SignalState.IsValid(signal) || a.A3 != 8)
            return -Errno.EINVAL;
        if (a.A1 != 0 && signal is SignalState.SIGKILL or SignalState.SIGSTOP)
            return -Errno.EINVAL;
        ref var action = ref p.Signals.Action(signal);
        var old = action;
        if (a.A1 != 0)
        {
            action = p.User.Read<Kernel.kernel_sigaction>(a.A1);
            action.sa_mask &= ~SignalState.Unblockable; // as Linux: SIGKILL and SIGSTOP can never be blocked
            // As Linux (5.11 on): unknown flag bits are dropped, so that a program can probe for one (SA_UNSUPPORTED)
            // by reading the action back; glibc sign-extends an int's SA_RESETHAND into the upper half (Node's SIGINT).
            action.sa_flags &= UapiFlags;
            // POSIX: setting a pending signal's action to "ignore" discards it, blocked or not.
            if (p.Signals.IsIgnored(signal))
            {
                p.Signals.Discard(signal);
                foreach (var thread in p.Threads.Threads)
                    thread.Signals.Pending &= ~SignalState.Bit(signal);
            }
        }
        if (a.A2 != 0)
            p.User.Write(a.A2, old);
        return 0;
    }

    public static long RtSigprocmask(LinuxProcess p, in SyscallArgs a)
    {
        const int SIG_BLOCK = 0, SIG_UNBLOCK = 1, SIG_SETMASK = 2;
        if (a.A3 != 8)
            return -Errno.EINVAL;
        var old = p.Signals.Mask;
        if (a.A1 != 0)
        {
            var set = p.User.Read<ulong>(a.A1) & ~SignalState.Unblockable;
            switch (AsInt(a.A0))
            {
                case SIG_BLOCK: p.Signals.Mask |= set; break;
                case SIG_UNBLOCK: p.Signals.Mask &= ~set; break;
                case SIG_SETMASK: p.Signals.Mask = set; break;
                default: return -Errno.EINVAL;
            }
        }
        if (a.A2 != 0)
            p.User.Write(a.A2, old);
        return 0;
    }

    /// <summary>The alternate stack, reported with SS_ONSTACK while the program runs on it (it cannot be changed then:
    /// EPERM); a new one smaller than MINSIGSTKSZ is ENOMEM, unknown flags EINVAL.</summary>
    public static long Sigaltstack(LinuxProcess p, in SyscallArgs a)
    {
        var old = p.Signals.AlternateStack;
        var sp = p.Registers.rsp;
        var onIt = (old.ss_flags & SignalDelivery.SS_DISABLE) == 0 && sp > old.ss_sp && sp - old.ss_sp <= old.ss_size;
        if (a.A0 != 0)
        {
            var stack = p.User.Read<Kernel.stack_t>(a.A0);
            if (onIt)
                return -Errno.EPERM;
            var check = CheckAlternateStack(stack);
            if (check < 0)
                return check;
            p.Signals.AlternateStack = (stack.ss_flags & SignalDelivery.SS_DISABLE) != 0
                ? new Kernel.stack_t { ss_flags = SignalDelivery.SS_DISABLE }
                : stack with { ss_flags = 0 };
        }
        if (a.A1 != 0)
            p.User.Write(a.A1, onIt ? old with { ss_flags = SignalDelivery.SS_ONSTACK } : old);
        return 0;
    }

    internal static int CheckAlternateStack(in Kernel.stack_t stack)
    {
        var mode = stack.ss_flags & ~SS_AUTODISARM;
        if (mode is not (0 or SignalDelivery.SS_DISABLE or SignalDelivery.SS_ONSTACK))
            return -Errno.EINVAL;
        if (mode != SignalDelivery.SS_DISABLE && stack.ss_size < MINSIGSTKSZ)
            return -Errno.ENOMEM;
        return 0;
    }

    public static long RtSigpending(LinuxProcess p, in SyscallArgs a)
    {
        if (a.A1 > 8)
            return -Errno.EINVAL;
        Span<byte> bytes = stackalloc byte[8];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(bytes, p.Signals.Pending);
        p.User.Write(a.A0, bytes[..(int)a.A1]);
        return 0;
    }

    /// <summary>rt_sigsuspend: waits under the given mask until a signal is delivered, then EINTR (the handler runs
    /// first, and the old mask is back after it). With one thread only a timer can send one: with none armed the
    /// wait would never end, and the program is stopped (<see cref="Waits"/>).</summary>
    public static long RtSigsuspend(LinuxProcess p, in SyscallArgs a)
    {
        if (a.A1 != 8)
            return -Errno.EINVAL;
        var mask = p.User.Read<ulong>(a.A0) & ~SignalState.Unblockable;
        p.Signals.SavedMask = p.Signals.Mask;
        p.Signals.Mask = mask;
        return WaitForSignal(p, "waits in rt_sigsuspend for a signal");
    }

    public static long Pause(LinuxProcess p, in SyscallArgs a) => WaitForSignal(p, "waits in pause() for a signal");

    private static long WaitForSignal(LinuxProcess p, string what)
    {
        while (true)
        {
            var woken = Waits.Block(p, Waits.Forever, what);
            if (woken < 0)
                return woken == -Waits.ERESTARTSYS ? -Errno.EINTR : woken;
        }
    }

    /// <summary>rt_sigtimedwait: takes a pending signal of the set (without running its handler) and returns its
    /// number, waiting up to the timeout for one (EAGAIN when it passes); a signal outside the set that arrives
    /// meanwhile ends the wait with EINTR.</summary>
    public static long RtSigtimedwait(LinuxProcess p, in SyscallArgs a)
    {
        if (a.A3 != 8)
            return -Errno.EINVAL;
        var set = p.User.Read<ulong>(a.A0) & ~SignalState.Unblockable;
        long timeout = Waits.Forever;
        if (a.A2 != 0 && !TimeCalls.TryNanoseconds(p.User.Read<Kernel.timespec>(a.A2), out timeout))
            return -Errno.EINVAL;
        // Waiting for a set means those signals are blocked meanwhile, so that the wait, not a handler, takes them.
        var mask = p.Signals.Mask;
        p.Signals.Mask |= set;
        try
        {
            while (true)
            {
                var signal = p.Signals.Take(~set, out var info);
                if (signal != 0)
                {
                    if (a.A1 != 0)
                    {
                        Span<byte> si = stackalloc byte[128];
                        si.Clear();
                        System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(si, signal);
                        System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(si[8..], info.Code);
                        p.User.Write(a.A1, si);
                    }
                    return signal;
                }
                if (timeout == 0)
                    return -Errno.EAGAIN;
                var woken = Waits.Block(p, timeout, "waits in rt_sigtimedwait, with no timeout, for a signal", set);
                if (woken == 0)
                    timeout = 0; // the timeout passed: one last look
                else if (woken < 0 && (p.Signals.Pending & set) == 0)
                    return woken == -Waits.ERESTARTSYS ? -Errno.EINTR : woken;
            }
        }
        finally
        {
            p.Signals.Mask = mask;
        }
    }

    public static long RtSigreturn(LinuxProcess p, in SyscallArgs a) => SignalDelivery.Return(p, ref p.RegistersForUpdate());
}

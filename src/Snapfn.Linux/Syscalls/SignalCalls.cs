using Snapfn.Linux.Abi;
using static Snapfn.Linux.Syscalls.SyscallArgs;

namespace Snapfn.Linux.Syscalls;

/// <summary>rt_sigaction, rt_sigprocmask, sigaltstack: the state is kept and read back, never delivered.</summary>
internal static class SignalCalls
{
    private const int SIGKILL = 9, SIGSTOP = 19;
    private const ulong Unblockable = (1UL << (SIGKILL - 1)) | (1UL << (SIGSTOP - 1));

    public static long RtSigaction(LinuxProcess p, in SyscallArgs a)
    {
        var signal = AsInt(a.A0);
        if (signal is < 1 or > SignalState.Count || a.A3 != 8)
            return -Errno.EINVAL;
        if (a.A1 != 0 && signal is SIGKILL or SIGSTOP)
            return -Errno.EINVAL;
        ref var action = ref p.Signals.Action(signal);
        var old = action;
        if (a.A1 != 0)
        {
            action = p.User.Read<Kernel.kernel_sigaction>(a.A1);
            action.sa_mask &= ~Unblockable; // as Linux: SIGKILL and SIGSTOP can never be blocked
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
            var set = p.User.Read<ulong>(a.A1) & ~Unblockable;
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

    public static long Sigaltstack(LinuxProcess p, in SyscallArgs a)
    {
        var old = p.Signals.AlternateStack;
        if (a.A0 != 0)
            p.Signals.AlternateStack = p.User.Read<Kernel.stack_t>(a.A0);
        if (a.A1 != 0)
            p.User.Write(a.A1, old);
        return 0;
    }
}

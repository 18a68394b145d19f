using Snapfn.Interop;

namespace Snapfn.Vmm;

/// <summary>What the system-call layer answers when a call has been served.</summary>
public enum SyscallAction
{
    /// <summary>The result is in RAX: resume the program.</summary>
    Continue,

    /// <summary>The program exited: end this run of the guest with <see cref="GuestStop.Exited"/>.</summary>
    Exited,
}

/// <summary>Serves a Linux program's system calls; called on the vCPU thread, with the registers of the call.</summary>
public interface ISyscallHandler
{
    /// <summary>Serves the call whose number is in RAX and arguments in RDI, RSI, RDX, R10, R8, R9; writes RAX.</summary>
    SyscallAction OnSyscall(MicroVm vm, ref Kvm.kvm_regs regs);

    /// <summary>Called before the guest runs again after the host had it stopped (a boot, a restore, a request).</summary>
    void BeforeRun(MicroVm vm);
}

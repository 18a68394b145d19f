using Snapfn.Interop;

namespace Snapfn.Vmm;

/// <summary>What the system-call layer answers when a call has been served.</summary>
public enum SyscallAction
{
    /// <summary>The result is in RAX: resume the program.</summary>
    Continue,

    /// <summary>The program exited: end this run of the guest with <see cref="GuestStop.Exited"/>.</summary>
    Exited,

    /// <summary>The program waits for the next request (it read its invocation channel, which is empty): end this
    /// run with <see cref="GuestStop.Ready"/>, leaving the call unfinished until the request comes.</summary>
    Ready,

    /// <summary>The program wrote a whole result to its channel (RAX holds the write's result): end this run with
    /// <see cref="GuestStop.Result"/>.</summary>
    Result,
}

/// <summary>Serves a Linux program's system calls, on the vCPU thread with the registers of the call, and carries
/// its requests and results (the program's invocation channel in place of the C runtime's mailbox).</summary>
public interface ISyscallHandler
{
    /// <summary>Serves the call whose number is in RAX and arguments in RDI, RSI, RDX, R10, R8, R9; writes RAX.</summary>
    SyscallAction OnSyscall(MicroVm vm, ref Kvm.kvm_regs regs);

    /// <summary>The guest was interrupted between two instructions (<see cref="MicroVm.Interrupt"/>, a time slice):
    /// <paramref name="regs"/> may be changed (another guest thread put on the vCPU). Null when nothing changed.</summary>
    SyscallAction? OnInterrupted(MicroVm vm, ref Kvm.kvm_regs regs) => null;

    /// <summary>Called before the guest runs again after the host had it stopped (a boot, a restore, a request).</summary>
    void BeforeRun(MicroVm vm);

    /// <summary>Hands the next request to the program (stopped at READY or RESULT).</summary>
    void WriteInput(MicroVm vm, ReadOnlySpan<byte> input);

    /// <summary>The result of the request that ended at RESULT.</summary>
    ReadOnlySpan<byte> Output { get; }

    /// <summary>Throws when the request that ended at RESULT failed in the program (its handler raised): the VM
    /// stays usable, the request does not.</summary>
    void CheckResult();

    /// <summary>Adds what the system-call layer knows to a guest failure (the last system calls to a crash).</summary>
    GuestFailureException Explain(GuestFailureException failure);
}

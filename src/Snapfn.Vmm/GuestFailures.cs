using Snapfn.Interop;

namespace Snapfn.Vmm;

/// <summary>A guest did not finish its request; the VM that ran it is stopped and must be disposed.</summary>
public abstract class GuestFailureException : Exception
{
    protected GuestFailureException(string message) : base(message) { }

    protected GuestFailureException(string message, Exception innerException) : base(message, innerException) { }
}

/// <summary>The guest crashed: an exception with no handler (a triple fault), a halt, or an access outside memory.</summary>
public sealed class GuestCrashedException : GuestFailureException
{
    public GuestCrashedException(string reason, Kvm.kvm_regs regs, ulong cr2)
        : base($"guest crashed: {reason} at rip=0x{regs.rip:x} (rsp=0x{regs.rsp:x}, cr2=0x{cr2:x})")
    {
        Reason = reason;
        Regs = regs;
        Cr2 = cr2;
    }

    public string Reason { get; }

    public Kvm.kvm_regs Regs { get; }

    public ulong Cr2 { get; }

    /// <summary>All general registers, for a crash report.</summary>
    public string RegisterDump =>
        $"rip={Regs.rip:x16} rsp={Regs.rsp:x16} rbp={Regs.rbp:x16} rflags={Regs.rflags:x16}\n" +
        $"rax={Regs.rax:x16} rbx={Regs.rbx:x16} rcx={Regs.rcx:x16} rdx={Regs.rdx:x16}\n" +
        $"rsi={Regs.rsi:x16} rdi={Regs.rdi:x16} r8 ={Regs.r8:x16} r9 ={Regs.r9:x16}\n" +
        $"r10={Regs.r10:x16} r11={Regs.r11:x16} r12={Regs.r12:x16} r13={Regs.r13:x16}\n" +
        $"r14={Regs.r14:x16} r15={Regs.r15:x16} cr2={Cr2:x16}";
}

/// <summary>The guest ran past its time limit and was stopped.</summary>
public sealed class GuestTimeoutException : GuestFailureException
{
    public GuestTimeoutException(TimeSpan timeout)
        : base($"guest did not finish within {timeout.TotalSeconds:0.###} s and was stopped")
    {
        Timeout = timeout;
    }

    public TimeSpan Timeout { get; }
}

/// <summary>The guest gave up on the request with a message (snapfn_abort).</summary>
public sealed class GuestAbortedException : GuestFailureException
{
    public GuestAbortedException(string guestMessage) : base($"guest aborted: {guestMessage}")
    {
        GuestMessage = guestMessage;
    }

    public string GuestMessage { get; }
}

/// <summary>The guest broke the hypercall contract (an unknown call, a pointer outside its memory); it was stopped.</summary>
public sealed class GuestProtocolException : GuestFailureException
{
    public GuestProtocolException(string message) : base($"guest broke the hypercall protocol: {message}; the VM was stopped") { }

    public GuestProtocolException(string message, Exception innerException)
        : base($"guest broke the hypercall protocol: {message}; the VM was stopped", innerException) { }
}

/// <summary>The host stopped the guest because something it depends on failed (a page could not be served).</summary>
public sealed class GuestStoppedException : GuestFailureException
{
    public GuestStoppedException(string reason) : base($"guest stopped: {reason}") { }

    public GuestStoppedException() : base("guest stopped") { }

    public GuestStoppedException(string message, Exception innerException) : base(message, innerException) { }
}

namespace Snapfn.Vmm;

/// <summary>
/// How a Linux program's `syscall` instruction reaches the VMM. LSTAR points at a stub in a read-only user page
/// of the low 2 MiB; the stub's `out` to <see cref="Port"/> is a KVM_EXIT_IO, on which the VMM reads the number
/// and arguments from the sync regs and writes the result back the same way (no register ioctl). Measured here
/// (../shared/probes/syscall-trap): under PVM a CPL-3 `syscall` jumps to LSTAR and stays at CPL 3, where
/// `sysretq` faults, so the stub returns with `jmp rcx`; on hardware-virtualised KVM it enters CPL 0 and must
/// return with `sysretq` (untested here: these machines are PVM).
/// </summary>
public static class SyscallTrap
{
    public const byte Port = 0xf0;

    /// <summary>The stub's page: after the mailbox, below the page directories.</summary>
    public const ulong StubAddress = 0x7000;

    /// <summary>The stub's instruction after its `out` (`jmp rcx` or `sysretq`): where a thread stopped in a system
    /// call resumes when the VMM switches it back onto the vCPU, so that it returns to RCX with its own flags as
    /// the stub would (KVM skips the `out` only for the thread whose exit it was).</summary>
    public const ulong ReturnAddress = StubAddress + 2;

    /// <summary>`out 0xf0, eax ; jmp rcx ; ud2` (RCX holds the return address, R11 the flags, as `syscall` left them).</summary>
    private static ReadOnlySpan<byte> Cpl3Stub => [0xe7, Port, 0xff, 0xe1, 0x0f, 0x0b];

    /// <summary>`out 0xf0, eax ; sysretq ; ud2`.</summary>
    private static ReadOnlySpan<byte> Cpl0Stub => [0xe7, Port, 0x48, 0x0f, 0x07, 0x0f, 0x0b];

    /// <summary>True where KVM is PVM (the kvm_pvm module is loaded): guest code runs at CPL 3 only.</summary>
    public static bool HostIsPvm { get; } = Directory.Exists("/sys/module/kvm_pvm");

    /// <summary>Whether `syscall` leaves the guest at CPL 3, as under PVM; the software vCPU does the same on any host
    /// (it serves `syscall` itself and never enters CPL 0).</summary>
    public static bool StaysAtCpl3 => HostIsPvm || VirtualCpu.Selected == CpuKind.Soft;

    /// <summary>The stub for this host.</summary>
    public static ReadOnlySpan<byte> Stub => StaysAtCpl3 ? Cpl3Stub : Cpl0Stub;

    /// <summary>STAR: `syscall` loads the kernel selectors from bits 32..47, `sysretq` the user ones from 48..63
    /// (SS = base + 8, CS = base + 16, the order of <see cref="GdtBuilder.SysretUserData"/> and code).</summary>
    public static ulong Star => ((ulong)(GdtBuilder.SysretUserData - 8 - 3) << 48) | ((ulong)GdtBuilder.KernelCode << 32);

    public const uint MsrStar = 0xc0000081;
    public const uint MsrLstar = 0xc0000082;
    public const uint MsrCstar = 0xc0000083;
    public const uint MsrSyscallMask = 0xc0000084;
    public const uint MsrFsBase = 0xc0000100;
}

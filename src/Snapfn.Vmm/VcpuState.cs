using Snapfn.Interop;

namespace Snapfn.Vmm;

/// <summary>One MSR's index and value.</summary>
public readonly record struct MsrValue(uint Index, ulong Value);

/// <summary>Everything of a stopped vCPU that a snapshot must carry to resume it in another VM.</summary>
public sealed record VcpuState(
    Kvm.kvm_regs Regs,
    Kvm.kvm_sregs Sregs,
    byte[] Xsave,
    Kvm.kvm_xcrs Xcrs,
    IReadOnlyList<MsrValue> Msrs)
{
    /// <summary>The MSRs that matter to a CPL-3 guest with no interrupts: the ones a guest or the runtime could
    /// have changed (TSC_AUX for rdtscp, PAT, the syscall MSRs kept for completeness) and the TSC.</summary>
    public static readonly uint[] SavedMsrs =
    [
        0x00000010, // IA32_TSC
        0x00000277, // IA32_PAT
        0xc0000081, // STAR
        0xc0000082, // LSTAR
        0xc0000083, // CSTAR
        0xc0000084, // SYSCALL_MASK
        0xc0000102, // KERNEL_GS_BASE
        0xc0000103, // TSC_AUX
    ];
}

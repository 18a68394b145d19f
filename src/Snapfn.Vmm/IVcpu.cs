using Snapfn.Interop;

namespace Snapfn.Vmm;

/// <summary>
/// A virtual CPU as the VMM drives it, in KVM's terms: exits are reported in a kvm_run page, registers travel as
/// KVM's structures. <see cref="KvmVcpu"/> is the real one; <see cref="SoftVcpu"/> emulates the same contract in
/// software where a machine has no KVM. Every member but <see cref="Kick"/> is called on the VM's
/// <see cref="VcpuThread"/>.
/// </summary>
internal interface IVcpu : IDisposable
{
    /// <summary>The last exit: its reason, its port I/O or MMIO, and the general registers when they are synced.</summary>
    ref Kvm.kvm_run RunPage { get; }

    /// <summary>Enters the guest once. Returns false when the run was interrupted by <see cref="Kick"/>.</summary>
    bool Run();

    /// <summary>Finishes the `out` of the last exit without running the guest, so that RIP points past it.</summary>
    void CompletePendingIo();

    /// <summary>Interrupts a run in progress, or the next one if none is, to stop the guest for good (a watchdog, a
    /// stop); callable from any thread.</summary>
    void Kick();

    /// <summary>Interrupts a run in progress, or the next one, between two instructions, for the guest to go on after
    /// the VMM has looked at it (a time slice); callable from any thread.</summary>
    void Preempt();

    Kvm.kvm_regs GetRegs();

    void SetRegs(Kvm.kvm_regs regs);

    Kvm.kvm_sregs GetSregs();

    void SetSregs(Kvm.kvm_sregs sregs);

    void SetXcr0(ulong value);

    /// <summary>The FPU, SSE and AVX registers as an XSAVE area.</summary>
    byte[] GetXsave();

    /// <summary>Loads an XSAVE area; a malformed one is refused with EINVAL, as KVM refuses it.</summary>
    void SetXsave(ReadOnlySpan<byte> xsave);

    /// <summary>Reads the MSRs this vCPU lets us read among <paramref name="indices"/>.</summary>
    IReadOnlyList<MsrValue> GetMsrs(IReadOnlyList<uint> indices);

    void SetMsrs(IReadOnlyList<MsrValue> msrs);

    VcpuState CaptureState();

    void RestoreState(VcpuState state);
}

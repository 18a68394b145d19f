using Snapfn.Vmm;

namespace Snapfn.Linux.Threads;

/// <summary>
/// The part of the one vCPU that a thread switch changes besides the general registers (which travel in the
/// system call's register block): the FS base (each thread's TLS) and the FPU/SSE/AVX state. The seam that lets
/// the scheduler and the thread calls be tested without KVM: a test's CPU records what was loaded.
/// </summary>
internal interface IThreadCpu
{
    void SetFsBase(ulong value);

    /// <summary>The FPU state now in the CPU (an XSAVE area), or null when there is none to save (no VM).</summary>
    byte[]? SaveFpu();

    void LoadFpu(byte[] state);
}

/// <summary>The VM's vCPU: KVM_SET_SREGS for the FS base, KVM_GET/SET_XSAVE for the FPU.</summary>
internal sealed class VmThreadCpu(MicroVm vm) : IThreadCpu
{
    public void SetFsBase(ulong value) => vm.SetFsBase(value);

    public byte[]? SaveFpu() => vm.GetFpuState();

    public void LoadFpu(byte[] state) => vm.SetFpuState(state);
}

/// <summary>No CPU (a process served without a VM): the FS base is kept in the books only, there is no FPU.</summary>
internal sealed class NoThreadCpu : IThreadCpu
{
    public static NoThreadCpu Instance { get; } = new();

    public void SetFsBase(ulong value)
    {
    }

    public byte[]? SaveFpu() => null;

    public void LoadFpu(byte[] state)
    {
    }
}

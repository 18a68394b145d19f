using Snapfn.Interop;

namespace Snapfn.Vmm;

/// <summary>
/// Everything of a VM that does not depend on what it will run: the KVM VM with its memory slot over a fresh
/// anonymous range (or, with <see cref="CpuKind.Soft"/>, an emulated CPU over it), the vCPU and its thread. Creating these costs a few milliseconds (most of it the memory
/// slot and the thread), so a platform can make shells ahead of time; a restore then only maps the snapshot
/// into <see cref="Memory"/> (MAP_FIXED; KVM follows the change through its MMU notifier) and loads the vCPU
/// state. A shell is used once: its memory must never have been touched before a restore maps over it.
/// </summary>
public sealed class VmShell : IDisposable
{
    private VmShell(MemoryMapping memory, SafeFd? vm, VcpuThread thread, IVcpu vcpu)
    {
        Memory = memory;
        Vm = vm;
        Thread = thread;
        Vcpu = vcpu;
    }

    public MemoryMapping Memory { get; }

    public ulong MemorySize => Memory.Length;

    /// <summary>The KVM VM; null for an emulated CPU.</summary>
    internal SafeFd? Vm { get; }

    internal VcpuThread Thread { get; }

    internal IVcpu Vcpu { get; }

    public static VmShell Create(ulong memorySize, string name = "vm")
    {
        if (VirtualCpu.Selected == CpuKind.Soft)
            return CreateSoft(memorySize, name);
        var kvm = KvmSystem.Shared;
        var memory = MemoryMapping.Anonymous(memorySize);
        SafeFd? vm = null;
        VcpuThread? thread = null;
        try
        {
            vm = kvm.CreateVm();
            var region = new Kvm.kvm_userspace_memory_region
            {
                slot = 0, guest_phys_addr = 0, memory_size = memorySize, userspace_addr = (ulong)memory.Address,
            };
            unsafe
            {
                SyscallException.Check(Libc.ioctl(vm, Kvm.KVM_SET_USER_MEMORY_REGION, (nint)(&region)),
                    "ioctl(KVM_SET_USER_MEMORY_REGION)");
            }
            thread = new VcpuThread($"vcpu:{name}");
            var vmFd = vm;
            var vcpuThread = thread;
            var vcpu = thread.Invoke(() => new KvmVcpu(kvm, vmFd, vcpuThread));
            return new VmShell(memory, vm, thread, vcpu);
        }
        catch
        {
            thread?.Dispose();
            vm?.Dispose();
            memory.Dispose();
            throw;
        }
    }

    private static VmShell CreateSoft(ulong memorySize, string name)
    {
        VirtualCpu.EnsureAvailable();
        var memory = MemoryMapping.Anonymous(memorySize);
        VcpuThread? thread = null;
        try
        {
            thread = new VcpuThread($"vcpu:{name}");
            var vcpu = thread.Invoke(() => new SoftVcpu(memory));
            return new VmShell(memory, null, thread, vcpu);
        }
        catch
        {
            thread?.Dispose();
            memory.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        Thread.Invoke(Vcpu.Dispose);
        Thread.Dispose();
        Vm?.Dispose();
        Memory.Dispose();
    }
}

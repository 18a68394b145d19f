using Snapfn.Interop;

namespace Snapfn.Vmm;

/// <summary>
/// Everything of a VM that does not depend on what it will run: the KVM VM with its memory slot over a fresh
/// anonymous range, the vCPU and its thread. Creating these costs a few milliseconds (most of it the memory
/// slot and the thread), so a platform can make shells ahead of time; a restore then only maps the snapshot
/// into <see cref="Memory"/> (MAP_FIXED; KVM follows the change through its MMU notifier) and loads the vCPU
/// state. A shell is used once: its memory must never have been touched before a restore maps over it.
/// </summary>
public sealed class VmShell : IDisposable
{
    private VmShell(MemoryMapping memory, SafeFd vm, VcpuThread thread, Vcpu vcpu)
    {
        Memory = memory;
        Vm = vm;
        Thread = thread;
        Vcpu = vcpu;
    }

    public MemoryMapping Memory { get; }

    public ulong MemorySize => Memory.Length;

    internal SafeFd Vm { get; }

    internal VcpuThread Thread { get; }

    internal Vcpu Vcpu { get; }

    public static VmShell Create(ulong memorySize, string name = "vm")
    {
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
            var vcpu = thread.Invoke(() => new Vcpu(kvm, vmFd));
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

    public void Dispose()
    {
        Thread.Invoke(Vcpu.Dispose);
        Thread.Dispose();
        Vm.Dispose();
        Memory.Dispose();
    }
}

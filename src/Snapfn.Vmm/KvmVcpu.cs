using System.Runtime.InteropServices;
using Snapfn.Interop;

namespace Snapfn.Vmm;

/// <summary>
/// One KVM vCPU: its file descriptor, its shared kvm_run page and the register ioctls. <see cref="Run"/> must be
/// called on its <see cref="VcpuThread"/>, which keeps the kick signal blocked outside KVM_RUN.
/// </summary>
internal sealed unsafe class KvmVcpu : IVcpu
{
    private readonly SafeFd _fd;
    private readonly KvmSystem _kvm;
    private readonly VcpuThread _thread;
    private readonly MemoryMapping _runPage;
    private readonly nint _run;

    internal KvmVcpu(KvmSystem kvm, SafeFd vm, VcpuThread thread)
    {
        _kvm = kvm;
        _thread = thread;
        var fd = Libc.ioctl(vm, Kvm.KVM_CREATE_VCPU, 0);
        if (fd < 0)
            SyscallException.Throw("ioctl(KVM_CREATE_VCPU)", Marshal.GetLastPInvokeError());
        _fd = new SafeFd(fd);
        try
        {
            _runPage = MemoryMapping.OfFile(_fd, (ulong)kvm.VcpuMmapSize, Libc.PROT_READ | Libc.PROT_WRITE, Libc.MAP_SHARED, "kvm_run");
            _run = _runPage.Address;
            SetCpuid(kvm.SupportedCpuid);
            SetSignalMask();
        }
        catch
        {
            _runPage?.Dispose();
            _fd.Dispose();
            throw;
        }
        // KVM then stores the registers in the run page at every exit, so a system call costs no register ioctl.
        if (kvm.SupportsSyncRegs)
            RunPage.kvm_valid_regs = Kvm.KVM_SYNC_X86_REGS;
    }

    public ref Kvm.kvm_run RunPage => ref *(Kvm.kvm_run*)_run;

    /// <summary>Enters the guest once. Returns false when KVM_RUN was interrupted by a signal (EINTR).</summary>
    public bool Run()
    {
        // The handle, not its number, even here: its AddRef/Release is a few ns against a ~25 µs exit, allocates
        // nothing, and keeps a Dispose on another thread from closing the vCPU under KVM_RUN.
        if (Libc.ioctl(_fd, Kvm.KVM_RUN, 0) >= 0)
            return true;
        var errno = Marshal.GetLastPInvokeError();
        if (errno is Libc.EINTR or Libc.EAGAIN)
            return false;
        SyscallException.Throw("ioctl(KVM_RUN)", errno);
        return false;
    }

    /// <summary>A signal that KVM lets through only inside KVM_RUN (<see cref="VcpuThread"/>).</summary>
    public void Kick() => _thread.Kick();

    /// <summary>KVM leaves the guest between two instructions on any kick.</summary>
    public void Preempt() => _thread.Kick();

    /// <summary>Lets KVM finish the instruction that caused the last exit (an `out`), so that the saved RIP points
    /// past it: KVM_RUN with immediate_exit completes pending port I/O and returns EINTR without entering the guest.</summary>
    public void CompletePendingIo()
    {
        RunPage.immediate_exit = 1;
        try
        {
            if (Libc.ioctl(_fd, Kvm.KVM_RUN, 0) < 0 && Marshal.GetLastPInvokeError() != Libc.EINTR)
                SyscallException.Throw("ioctl(KVM_RUN, immediate_exit)", Marshal.GetLastPInvokeError());
        }
        finally
        {
            RunPage.immediate_exit = 0;
        }
    }

    public Kvm.kvm_regs GetRegs() => Get<Kvm.kvm_regs>(Kvm.KVM_GET_REGS, "KVM_GET_REGS");

    public void SetRegs(Kvm.kvm_regs regs) => Set(Kvm.KVM_SET_REGS, regs, "KVM_SET_REGS");

    public Kvm.kvm_sregs GetSregs() => Get<Kvm.kvm_sregs>(Kvm.KVM_GET_SREGS, "KVM_GET_SREGS");

    public void SetSregs(Kvm.kvm_sregs sregs) => Set(Kvm.KVM_SET_SREGS, sregs, "KVM_SET_SREGS");

    public Kvm.kvm_xcrs GetXcrs() => Get<Kvm.kvm_xcrs>(Kvm.KVM_GET_XCRS, "KVM_GET_XCRS");

    public void SetXcrs(Kvm.kvm_xcrs xcrs) => Set(Kvm.KVM_SET_XCRS, xcrs, "KVM_SET_XCRS");

    public void SetXcr0(ulong value)
    {
        var xcrs = new Kvm.kvm_xcrs { nr_xcrs = 1 };
        xcrs.xcrs[0] = new Kvm.kvm_xcr { xcr = 0, value = value };
        SetXcrs(xcrs);
    }

    public byte[] GetXsave()
    {
        var buffer = new byte[_kvm.XsaveSize];
        var request = _kvm.XsaveSize > 4096 ? Kvm.KVM_GET_XSAVE2 : Kvm.KVM_GET_XSAVE;
        fixed (byte* p = buffer)
            SyscallException.Check(Libc.ioctl(_fd, request, (nint)p), "ioctl(KVM_GET_XSAVE)");
        return buffer;
    }

    public void SetXsave(ReadOnlySpan<byte> xsave)
    {
        if (xsave.Length < 4096)
            throw new ArgumentException($"an XSAVE area is at least 4096 bytes, not {xsave.Length}", nameof(xsave));
        fixed (byte* p = xsave)
            SyscallException.Check(Libc.ioctl(_fd, Kvm.KVM_SET_XSAVE, (nint)p), "ioctl(KVM_SET_XSAVE)");
    }

    /// <summary>Reads the MSRs this KVM lets us read among <paramref name="indices"/>.</summary>
    public IReadOnlyList<MsrValue> GetMsrs(IReadOnlyList<uint> indices)
    {
        var result = new List<MsrValue>();
        var buffer = stackalloc byte[sizeof(Kvm.kvm_msrs) + sizeof(Kvm.kvm_msr_entry)];
        foreach (var index in indices)
        {
            // One at a time: KVM stops at the first MSR it refuses, and a refused one is simply not saved.
            ((Kvm.kvm_msrs*)buffer)->nmsrs = 1;
            var entry = (Kvm.kvm_msr_entry*)(buffer + sizeof(Kvm.kvm_msrs));
            *entry = new Kvm.kvm_msr_entry { index = index };
            if (Libc.ioctl(_fd, Kvm.KVM_GET_MSRS, (nint)buffer) == 1)
                result.Add(new MsrValue(index, entry->data));
        }
        return result;
    }

    public void SetMsrs(IReadOnlyList<MsrValue> msrs)
    {
        ArgumentNullException.ThrowIfNull(msrs);
        if (msrs.Count == 0)
            return;
        var buffer = new byte[sizeof(Kvm.kvm_msrs) + msrs.Count * sizeof(Kvm.kvm_msr_entry)];
        fixed (byte* p = buffer)
        {
            ((Kvm.kvm_msrs*)p)->nmsrs = (uint)msrs.Count;
            var entries = (Kvm.kvm_msr_entry*)(p + sizeof(Kvm.kvm_msrs));
            for (var i = 0; i < msrs.Count; i++)
                entries[i] = new Kvm.kvm_msr_entry { index = msrs[i].Index, data = msrs[i].Value };
            var set = SyscallException.Check(Libc.ioctl(_fd, Kvm.KVM_SET_MSRS, (nint)p), "ioctl(KVM_SET_MSRS)");
            if (set != msrs.Count)
                throw new SyscallException($"ioctl(KVM_SET_MSRS) refused MSR 0x{msrs[set].Index:x}");
        }
    }

    public VcpuState CaptureState() =>
        new(GetRegs(), GetSregs(), GetXsave(), GetXcrs(), GetMsrs(VcpuState.SavedMsrs));

    public void RestoreState(VcpuState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        // Order matters: XCR0 must allow the features before an XSAVE image that uses them is loaded.
        SetSregs(state.Sregs);
        SetXcrs(state.Xcrs);
        SetXsave(state.Xsave);
        SetMsrs(state.Msrs);
        SetRegs(state.Regs);
    }

    private void SetCpuid(ReadOnlySpan<byte> cpuid)
    {
        fixed (byte* p = cpuid)
            SyscallException.Check(Libc.ioctl(_fd, Kvm.KVM_SET_CPUID2, (nint)p), "ioctl(KVM_SET_CPUID2)");
    }

    /// <summary>During KVM_RUN every signal but the kick stays blocked, so only the watchdog interrupts the guest.</summary>
    private void SetSignalMask()
    {
        var mask = new Kvm.kvm_signal_mask { len = 8, sigset = ~(1UL << (VcpuThread.KickSignal - 1)) };
        SyscallException.Check(Libc.ioctl(_fd, Kvm.KVM_SET_SIGNAL_MASK, (nint)(&mask)), "ioctl(KVM_SET_SIGNAL_MASK)");
    }

    private T Get<T>(uint request, string name) where T : unmanaged
    {
        T value;
        SyscallException.Check(Libc.ioctl(_fd, request, (nint)(&value)), $"ioctl({name})");
        return value;
    }

    private void Set<T>(uint request, T value, string name) where T : unmanaged =>
        SyscallException.Check(Libc.ioctl(_fd, request, (nint)(&value)), $"ioctl({name})");

    public void Dispose()
    {
        _runPage.Dispose();
        _fd.Dispose();
    }
}

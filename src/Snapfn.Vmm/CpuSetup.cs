using Snapfn.Interop;

namespace Snapfn.Vmm;

/// <summary>The vCPU state for the first instruction: long mode, paging on, CPL 3, IOPL 3, SSE and AVX usable.</summary>
public static class CpuSetup
{
    public const ulong Cr0ProtectionEnable = 1UL << 0;
    public const ulong Cr0MonitorCoprocessor = 1UL << 1;
    public const ulong Cr0ExtensionType = 1UL << 4;
    public const ulong Cr0NumericError = 1UL << 5;
    public const ulong Cr0WriteProtect = 1UL << 16;
    public const ulong Cr0Paging = 1UL << 31;
    public const ulong Cr4Pae = 1UL << 5;
    public const ulong Cr4OsFxsr = 1UL << 9;
    public const ulong Cr4OsXmmExcpt = 1UL << 10;
    public const ulong Cr4OsXsave = 1UL << 18;
    public const ulong EferLongModeEnable = 1UL << 8;
    public const ulong EferLongModeActive = 1UL << 10;
    public const ulong EferNoExecute = 1UL << 11;
    public const ulong EferSyscallEnable = 1UL << 0;
    public const ulong RflagsReserved = 1UL << 1;
    public const ulong RflagsIopl3 = 3UL << 12;
    /// <summary>x87, SSE and AVX state enabled in XCR0; AVX-512 is left off (it would grow every context switch).</summary>
    public const ulong Xcr0 = 0x7;

    public static Kvm.kvm_sregs InitialSregs(Kvm.kvm_sregs current)
    {
        var sregs = current;
        sregs.cs = GdtBuilder.UserCodeSegment;
        sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss = GdtBuilder.UserDataSegment;
        sregs.tr = GdtBuilder.TaskSegment;
        sregs.ldt = new Kvm.kvm_segment { type = 2, present = 0, unusable = 1 };
        sregs.gdt = new Kvm.kvm_dtable { @base = GuestLayout.GdtAddress, limit = GdtBuilder.EntryCount * 8 - 1 };
        // No IDT: any exception in the guest escalates to a triple fault, which KVM reports as a shutdown.
        sregs.idt = new Kvm.kvm_dtable { @base = 0, limit = 0 };
        sregs.cr0 = Cr0ProtectionEnable | Cr0MonitorCoprocessor | Cr0ExtensionType | Cr0NumericError | Cr0WriteProtect | Cr0Paging;
        sregs.cr3 = GuestLayout.Pml4Address;
        sregs.cr4 = Cr4Pae | Cr4OsFxsr | Cr4OsXmmExcpt | Cr4OsXsave;
        sregs.efer = EferLongModeEnable | EferLongModeActive | EferNoExecute;
        return sregs;
    }

    /// <summary>RFLAGS bits a CPL-3 program sets itself (CF, PF, AF, ZF, SF, TF, DF, OF, AC, ID); the rest are the VMM's.</summary>
    public const ulong RflagsGuestBits = 0x1 | 0x4 | 0x10 | 0x40 | 0x80 | 0x100 | 0x400 | 0x800 | 0x40000 | 0x200000;

    /// <summary>IA32_PAT's power-on value: the VMM never changes it and a CPL-3 guest cannot.</summary>
    public const ulong DefaultPat = 0x0007040600070406;

    /// <summary>
    /// The vCPU state a restore loads: from the snapshot, only what the guest itself can change — its general
    /// registers and the flags it may set, FPU/SSE/AVX state, FS and GS bases, and of the MSRs the TSC,
    /// KERNEL_GS_BASE and TSC_AUX; every control register, descriptor table, segment, EFER, XCR0 and system MSR
    /// is the VMM's, as at boot (<paramref name="process"/>: a Linux program's, with `syscall` enabled).
    /// <paramref name="current"/> is the new vCPU's own sregs (APIC base and the like).
    /// </summary>
    public static VcpuState ForRestore(VcpuState saved, Kvm.kvm_sregs current, bool process)
    {
        ArgumentNullException.ThrowIfNull(saved);
        var sregs = process ? ProcessGuest.InitialSregs(current) : InitialSregs(current);
        sregs.fs.@base = saved.Sregs.fs.@base;
        sregs.gs.@base = saved.Sregs.gs.@base;
        var regs = saved.Regs;
        // IOPL as at boot: 3 for a C-runtime guest, 0 for a Linux program (ProcessGuest.InitialRegs).
        regs.rflags = (regs.rflags & RflagsGuestBits) | RflagsReserved | (process ? 0 : RflagsIopl3);
        var xcrs = new Kvm.kvm_xcrs { nr_xcrs = 1 };
        xcrs.xcrs[0] = new Kvm.kvm_xcr { xcr = 0, value = Xcr0 };
        var vmm = new Dictionary<uint, ulong>
        {
            [SyscallTrap.MsrStar] = 0, [SyscallTrap.MsrLstar] = 0, [SyscallTrap.MsrCstar] = 0, [SyscallTrap.MsrSyscallMask] = 0,
            [0x277] = DefaultPat,
        };
        if (process)
        {
            foreach (var msr in ProcessGuest.SyscallMsrs)
                vmm[msr.Index] = msr.Value;
        }
        var msrs = new List<MsrValue>(vmm.Select(m => new MsrValue(m.Key, m.Value)));
        foreach (var msr in saved.Msrs)
        {
            if (msr.Index is 0x10 or 0xc0000102 or 0xc0000103) // IA32_TSC, KERNEL_GS_BASE, TSC_AUX
                msrs.Add(msr);
        }
        return new VcpuState(regs, sregs, saved.Xsave, xcrs, msrs);
    }

    public static Kvm.kvm_regs InitialRegs(ulong entry, ulong stackTop) => new()
    {
        rip = entry,
        rsp = stackTop,
        rdi = GuestAbi.MailboxAddress,
        rflags = RflagsReserved | RflagsIopl3,
    };
}

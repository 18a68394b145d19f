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

    public static Kvm.kvm_regs InitialRegs(ulong entry, ulong stackTop) => new()
    {
        rip = entry,
        rsp = stackTop,
        rdi = GuestAbi.MailboxAddress,
        rflags = RflagsReserved | RflagsIopl3,
    };
}

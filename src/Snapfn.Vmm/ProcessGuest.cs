using Snapfn.Interop;

namespace Snapfn.Vmm;

/// <summary>What a Linux program's VM needs of the VMM beyond a C-runtime guest's: where the loader may put
/// things in the low 2 MiB, and how the program starts.</summary>
public static class ProcessGuest
{
    /// <summary>Read-only user pages the program's loader fills (the vDSO image and its data page); the guest can
    /// read and execute them, never write them.</summary>
    public const ulong ReadOnlyWindow = 0x100000;

    public const ulong ReadOnlyWindowSize = 0x11000;

    /// <summary>The lowest address a program may map: everything below belongs to the VMM.</summary>
    public const ulong ProgramBase = GuestLayout.LargePageSize;

    /// <summary>The low pages a Linux program may use: the system-call stub and the read-only window.</summary>
    public static IReadOnlyList<LowPage> UserPages { get; } = BuildUserPages();

    private static LowPage[] BuildUserPages()
    {
        var pages = new List<LowPage> { new(SyscallTrap.StubAddress, Writable: false) };
        for (var page = ReadOnlyWindow; page < ReadOnlyWindow + ReadOnlyWindowSize; page += GuestLayout.PageSize)
            pages.Add(new LowPage(page, Writable: false));
        return [.. pages];
    }

    internal static Kvm.kvm_sregs InitialSregs(Kvm.kvm_sregs current)
    {
        var sregs = CpuSetup.InitialSregs(current);
        sregs.cs = GdtBuilder.SysretUserCodeSegment;
        sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss = GdtBuilder.SysretUserDataSegment;
        sregs.efer |= CpuSetup.EferSyscallEnable;
        return sregs;
    }

    /// <summary>The program's first registers: IOPL 0, so that on hardware-virtualised KVM as under PVM every `in` and
    /// `out` at CPL 3 is checked against the TSS's bitmap, which opens only the system-call port. (The C runtime's
    /// guests keep IOPL 3, which the hypercall port needs on such hosts.)</summary>
    internal static Kvm.kvm_regs InitialRegs(ProcessStart start) =>
        CpuSetup.InitialRegs(start.Entry, start.StackPointer) with { rdi = 0, rflags = CpuSetup.RflagsReserved };

    internal static MsrValue[] SyscallMsrs =>
    [
        new(SyscallTrap.MsrStar, SyscallTrap.Star),
        new(SyscallTrap.MsrLstar, SyscallTrap.StubAddress),
        new(SyscallTrap.MsrCstar, 0),
        // No flag is masked: the stub returns with the program's own flags, as sysret would restore them.
        new(SyscallTrap.MsrSyscallMask, 0),
    ];
}

/// <summary>Where a loaded program starts.</summary>
public readonly record struct ProcessStart(ulong Entry, ulong StackPointer);

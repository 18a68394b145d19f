namespace Snapfn.Interop;

/// <summary>KVM ioctl numbers and capabilities, as in linux/kvm.h (checked against the header by a test).</summary>
public static partial class Kvm
{
    public const uint KVM_GET_API_VERSION = 0x0000AE00;
    public const uint KVM_CREATE_VM = 0x0000AE01;
    public const uint KVM_CHECK_EXTENSION = 0x0000AE03;
    public const uint KVM_GET_VCPU_MMAP_SIZE = 0x0000AE04;
    public const uint KVM_GET_SUPPORTED_CPUID = 0xC008AE05;
    public const uint KVM_CREATE_VCPU = 0x0000AE41;
    public const uint KVM_SET_USER_MEMORY_REGION = 0x4020AE46;
    public const uint KVM_SET_TSS_ADDR = 0x0000AE47;
    public const uint KVM_RUN = 0x0000AE80;
    public const uint KVM_GET_REGS = 0x8090AE81;
    public const uint KVM_SET_REGS = 0x4090AE82;
    public const uint KVM_GET_SREGS = 0x8138AE83;
    public const uint KVM_SET_SREGS = 0x4138AE84;
    public const uint KVM_GET_MSRS = 0xC008AE88;
    public const uint KVM_SET_MSRS = 0x4008AE89;
    public const uint KVM_SET_SIGNAL_MASK = 0x4004AE8B;
    public const uint KVM_SET_CPUID2 = 0x4008AE90;
    public const uint KVM_GET_XSAVE = 0x9000AEA4;
    public const uint KVM_SET_XSAVE = 0x5000AEA5;
    public const uint KVM_GET_XCRS = 0x8188AEA6;
    public const uint KVM_SET_XCRS = 0x4188AEA7;
    public const uint KVM_GET_XSAVE2 = 0x9000AECF;
    public const uint KVM_GET_VCPU_EVENTS = 0x8040AE9F;
    public const uint KVM_SET_VCPU_EVENTS = 0x4040AEA0;

    public const int KVM_API_VERSION = 12;
    public const int KVM_CAP_IMMEDIATE_EXIT = 136;
    public const int KVM_CAP_XSAVE2 = 208;
    public const int KVM_CAP_SYNC_REGS = 74;
    public const ulong KVM_SYNC_X86_REGS = 1;

    public const uint KVM_EXIT_UNKNOWN = 0;
    public const uint KVM_EXIT_EXCEPTION = 1;
    public const uint KVM_EXIT_IO = 2;
    public const uint KVM_EXIT_HLT = 5;
    public const uint KVM_EXIT_MMIO = 6;
    public const uint KVM_EXIT_SHUTDOWN = 8;
    public const uint KVM_EXIT_FAIL_ENTRY = 9;
    public const uint KVM_EXIT_INTR = 10;
    public const uint KVM_EXIT_INTERNAL_ERROR = 17;
    public const uint KVM_EXIT_SYSTEM_EVENT = 24;

    public const byte KVM_EXIT_IO_IN = 0;
    public const byte KVM_EXIT_IO_OUT = 1;
}

using System.Runtime.InteropServices;

namespace Snapfn.Vmm;

/// <summary>The guest/VMM contract; mirrors guest/runtime/include/snapfn_abi.h (a test compares the two).</summary>
public static class GuestAbi
{
    public const ulong Magic = 0x314e4650414e53UL;
    public const ulong Version = 1;
    public const ulong MailboxAddress = 0x6000;
    public const ulong ElfBase = 0x200000;
    public const ushort HypercallPort = 0x5f0;
}

/// <summary>Hypercall numbers (enum snapfn_hypercall).</summary>
public enum Hypercall : uint
{
    Log = 1,
    Ready = 2,
    Result = 3,
    Abort = 4,
    Discard = 5,
}

/// <summary>struct snapfn_mailbox: the page through which hypercalls pass arguments and results.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct Mailbox
{
    public ulong Magic;
    public ulong AbiVersion;
    public ulong MemorySize;
    public ulong InputAddress;
    public ulong InputCapacity;
    public ulong OutputAddress;
    public ulong OutputCapacity;
    public ulong HeapStart;
    public ulong HeapEnd;
    public ulong Arg0;
    public ulong Arg1;
    public ulong InputLength;
}

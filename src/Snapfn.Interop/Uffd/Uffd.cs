using System.Runtime.InteropServices;

namespace Snapfn.Interop;

/// <summary>userfaultfd(2): constants, ioctls and structs as in linux/userfaultfd.h (checked by a test).</summary>
public static class Uffd
{
    public const long SYS_userfaultfd = 323;
    public const ulong UFFD_API = 0xAA;

    public const uint UFFDIO_API = 0xC018AA3F;
    public const uint UFFDIO_REGISTER = 0xC020AA00;
    public const uint UFFDIO_UNREGISTER = 0x8010AA01;
    public const uint UFFDIO_WAKE = 0x8010AA02;
    public const uint UFFDIO_COPY = 0xC028AA03;
    public const uint UFFDIO_ZEROPAGE = 0xC020AA04;

    public const ulong UFFDIO_REGISTER_MODE_MISSING = 1;
    public const ulong UFFDIO_COPY_MODE_DONTWAKE = 1;
    public const byte UFFD_EVENT_PAGEFAULT = 0x12;

    [StructLayout(LayoutKind.Sequential)]
    public struct uffdio_api
    {
        public ulong api;
        public ulong features;
        public ulong ioctls;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct uffdio_range
    {
        public ulong start;
        public ulong len;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct uffdio_register
    {
        public uffdio_range range;
        public ulong mode;
        public ulong ioctls;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct uffdio_copy
    {
        public ulong dst;
        public ulong src;
        public ulong len;
        public ulong mode;
        public long copy;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct uffdio_zeropage
    {
        public uffdio_range range;
        public ulong mode;
        public long zeropage;
    }

    /// <summary>uffd_msg, 32 bytes; for a page fault the faulting address is at offset 16.</summary>
    [StructLayout(LayoutKind.Explicit, Size = 32)]
    public struct uffd_msg
    {
        [FieldOffset(0)] public byte @event;
        [FieldOffset(8)] public ulong pagefault_flags;
        [FieldOffset(16)] public ulong pagefault_address;
    }
}

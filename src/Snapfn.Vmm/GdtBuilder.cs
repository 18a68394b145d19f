using System.Buffers.Binary;
using Snapfn.Interop;

namespace Snapfn.Vmm;

/// <summary>
/// The GDT and the segment registers for 64-bit code at CPL 3. The descriptors in memory and the cached
/// segment state given to KVM must agree, or a later segment load (iretq, a far return) would fault.
/// </summary>
public static class GdtBuilder
{
    public const ushort KernelCode = 0x08;
    public const ushort KernelData = 0x10;
    public const ushort UserCode = 0x18 | 3;
    public const ushort UserData = 0x20 | 3;
    public const ushort Tss = 0x28;
    /// <summary>User data and code again, in the order `sysretq` needs (SS = STAR[63:48] + 8, CS = + 16): Linux
    /// programs run on these, so that the same GDT serves a host where `syscall` enters CPL 0 (see SyscallTrap).</summary>
    public const ushort SysretUserData = 0x38 | 3;
    public const ushort SysretUserCode = 0x40 | 3;
    /// <summary>null, kernel code, kernel data, user code, user data, TSS (two slots), sysret user data and code.</summary>
    public const int EntryCount = 9;
    /// <summary>Where the I/O permission bitmap starts inside the TSS (right after the 104-byte 64-bit TSS).</summary>
    public const int IoBitmapOffset = 104;
    /// <summary>Bitmap bytes up to and including the hypercall port's, plus one: the CPU and KVM's emulator read two.
    /// The system-call port (<see cref="SyscallTrap.Port"/>) is below it. Every guest gets a bitmap this long, with
    /// exactly one port open: ports past the bitmap are refused anyway.</summary>
    public const int IoBitmapBytes = GuestAbi.HypercallPort / 8 + 2;
    public const uint TssLimit = IoBitmapOffset + IoBitmapBytes - 1;

    public static Kvm.kvm_segment UserCodeSegment => new()
    {
        @base = 0, limit = 0xffffffff, selector = UserCode, type = 0xb, present = 1, dpl = 3, db = 0, s = 1, l = 1, g = 1,
    };

    public static Kvm.kvm_segment UserDataSegment => new()
    {
        @base = 0, limit = 0xffffffff, selector = UserData, type = 0x3, present = 1, dpl = 3, db = 1, s = 1, l = 0, g = 1,
    };

    public static Kvm.kvm_segment SysretUserCodeSegment => UserCodeSegment with { selector = SysretUserCode };

    public static Kvm.kvm_segment SysretUserDataSegment => UserDataSegment with { selector = SysretUserData };

    public static Kvm.kvm_segment TaskSegment => new()
    {
        @base = GuestLayout.TssAddress, limit = TssLimit, selector = Tss, type = 0xb, present = 1, dpl = 0, s = 0,
    };

    /// <summary>Writes the descriptor table at <see cref="GuestLayout.GdtAddress"/> in <paramref name="lowMemory"/>, and
    /// a TSS whose I/O bitmap opens <paramref name="port"/> (4 bytes wide) and nothing else: the hypercall port for a
    /// C-runtime guest, the system-call port (<see cref="SyscallTrap.Port"/>) for a Linux program.</summary>
    public static void Build(Span<byte> lowMemory, ushort port = GuestAbi.HypercallPort)
    {
        if (port > GuestAbi.HypercallPort || port % 4 != 0)
            throw new ArgumentOutOfRangeException(nameof(port), $"port 0x{port:x} is not a 4-aligned port the TSS's bitmap covers");
        var gdt = lowMemory.Slice((int)GuestLayout.GdtAddress, EntryCount * 8);
        gdt.Clear();
        Write(gdt, 1, Descriptor(new Kvm.kvm_segment { limit = 0xffffffff, type = 0xb, present = 1, s = 1, l = 1, g = 1 }));
        Write(gdt, 2, Descriptor(new Kvm.kvm_segment { limit = 0xffffffff, type = 0x3, present = 1, s = 1, db = 1, g = 1 }));
        Write(gdt, 3, Descriptor(UserCodeSegment));
        Write(gdt, 4, Descriptor(UserDataSegment));
        // A 64-bit TSS descriptor takes two slots; the upper one holds base bits 32..63 (zero here).
        Write(gdt, 5, Descriptor(TaskSegment));
        Write(gdt, 7, Descriptor(SysretUserDataSegment));
        Write(gdt, 8, Descriptor(SysretUserCodeSegment));
        BuildTss(lowMemory.Slice((int)GuestLayout.TssAddress, (int)TssLimit + 1), port);
    }

    /// <summary>
    /// A TSS whose I/O bitmap lets CPL 3 use one port and nothing else. PVM runs the guest with the hardware IOPL
    /// at 0 whatever RFLAGS says, so `out` raises #GP; KVM's emulator then consults this bitmap, finds the port
    /// allowed and exits to us with KVM_EXIT_IO. On hardware-virtualised KVM, IOPL 3 allows any port, which is
    /// why a Linux program runs with IOPL 0 (<see cref="ProcessGuest"/>).
    /// A Linux program gets the system-call port only, never the hypercall port: its one way out is its system
    /// calls, and an `out` to the C runtime's port (RESULT, READY, ...) is #GP, a crash of the program.
    /// </summary>
    private static void BuildTss(Span<byte> tss, ushort port)
    {
        tss.Clear();
        BinaryPrimitives.WriteUInt16LittleEndian(tss[102..], IoBitmapOffset);
        var bitmap = tss.Slice(IoBitmapOffset, IoBitmapBytes);
        bitmap.Fill(0xff);
        // A 4-byte `out` checks the bits of 4 ports (0x5f0..0x5f3, 0xf0..0xf3); they are one nibble of one byte.
        bitmap[port / 8] = unchecked((byte)~(0xf << (port % 8)));
    }

    /// <summary>Encodes a segment as an 8-byte legacy descriptor (limit in 4 KiB units when g is set).</summary>
    public static ulong Descriptor(Kvm.kvm_segment segment)
    {
        var limit = segment.g != 0 ? segment.limit >> 12 : segment.limit;
        ulong value = limit & 0xffff;
        value |= (segment.@base & 0xffffff) << 16;
        value |= (ulong)(segment.type & 0xf) << 40;
        value |= (ulong)(segment.s & 1) << 44;
        value |= (ulong)(segment.dpl & 3) << 45;
        value |= (ulong)(segment.present & 1) << 47;
        value |= (ulong)((limit >> 16) & 0xf) << 48;
        value |= (ulong)(segment.avl & 1) << 52;
        value |= (ulong)(segment.l & 1) << 53;
        value |= (ulong)(segment.db & 1) << 54;
        value |= (ulong)(segment.g & 1) << 55;
        value |= ((segment.@base >> 24) & 0xff) << 56;
        return value;
    }

    private static void Write(Span<byte> gdt, int index, ulong descriptor) =>
        BinaryPrimitives.WriteUInt64LittleEndian(gdt[(index * 8)..], descriptor);
}

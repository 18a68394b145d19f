using System.Buffers.Binary;

namespace Snapfn.Vmm.Tests;

public sealed class GdtBuilderTests
{
    [Fact]
    public void User_code_descriptor_is_64_bit_DPL_3_present() =>
        // Limit 0xfffff (4 KiB units), type 0xb, S, DPL 3, P, L, G: the canonical flat 64-bit user code segment.
        Assert.Equal(0x00affb000000ffffUL, GdtBuilder.Descriptor(GdtBuilder.UserCodeSegment));

    [Fact]
    public void User_data_descriptor_is_DPL_3_writable() =>
        Assert.Equal(0x00cff3000000ffffUL, GdtBuilder.Descriptor(GdtBuilder.UserDataSegment));

    [Fact]
    public void Selectors_index_their_descriptors_with_RPL_3()
    {
        var low = new byte[GuestLayout.LargePageSize];
        GdtBuilder.Build(low);
        ulong Entry(ushort selector) => BinaryPrimitives.ReadUInt64LittleEndian(low.AsSpan((int)GuestLayout.GdtAddress + (selector & ~7)));
        Assert.Equal(3, GdtBuilder.UserCode & 3);
        Assert.Equal(GdtBuilder.Descriptor(GdtBuilder.UserCodeSegment), Entry(GdtBuilder.UserCode));
        Assert.Equal(GdtBuilder.Descriptor(GdtBuilder.UserDataSegment), Entry(GdtBuilder.UserData));
        Assert.Equal(GdtBuilder.Descriptor(GdtBuilder.TaskSegment), Entry(GdtBuilder.Tss));
    }

    [Fact]
    public void Tss_io_bitmap_allows_only_the_hypercall_port()
    {
        var low = new byte[GuestLayout.LargePageSize];
        GdtBuilder.Build(low);
        var tss = low.AsSpan((int)GuestLayout.TssAddress, (int)GdtBuilder.TssLimit + 1);
        var bitmap = tss[BinaryPrimitives.ReadUInt16LittleEndian(tss[102..])..].ToArray();
        bool Allowed(int port) => (bitmap[port / 8] >> (port % 8) & 1) == 0;
        for (var port = 0; port < (bitmap.Length - 1) * 8; port++)
            Assert.Equal(port is >= GuestAbi.HypercallPort and < GuestAbi.HypercallPort + 4, Allowed(port));
    }

    /// <summary>Issue 18: a Linux program's TSS opened the hypercall port too, so its `out` of RESULT or READY was
    /// served. A Linux program's TSS opens the system-call port only.</summary>
    [Fact]
    public void A_linux_programs_tss_allows_only_the_system_call_port()
    {
        var low = new byte[GuestLayout.LargePageSize];
        VmmPages.ForProcess(256UL << 20, []).CopyTo(low);
        var tss = low.AsSpan((int)GuestLayout.TssAddress, (int)GdtBuilder.TssLimit + 1);
        var bitmap = tss[BinaryPrimitives.ReadUInt16LittleEndian(tss[102..])..].ToArray();
        bool Allowed(int port) => (bitmap[port / 8] >> (port % 8) & 1) == 0;
        for (var port = 0; port < (bitmap.Length - 1) * 8; port++)
            Assert.Equal(port is >= SyscallTrap.Port and < SyscallTrap.Port + 4, Allowed(port));
        Assert.False(Allowed(GuestAbi.HypercallPort));
    }

    /// <summary>With IOPL 3, hardware-virtualised KVM would let CPL 3 use any port whatever the bitmap says.</summary>
    [Fact]
    public void A_linux_program_starts_with_iopl_0_so_the_bitmap_applies()
    {
        var regs = ProcessGuest.InitialRegs(new ProcessStart(0x401000, 0x7fff000));
        Assert.Equal(0UL, regs.rflags & (3UL << 12));
        Assert.Equal(0x401000UL, regs.rip);
    }
}

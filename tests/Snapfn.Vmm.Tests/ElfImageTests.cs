using System.Buffers.Binary;

namespace Snapfn.Vmm.Tests;

public sealed class ElfImageTests
{
    /// <summary>A minimal static x86-64 executable: one PT_LOAD of <paramref name="code"/> at <paramref name="address"/>.</summary>
    private static byte[] MakeElf(ulong address = 0x200000, ushort machine = 62, ushort type = 2, ulong? entry = null,
        ulong? memorySize = null, uint flags = 5, byte[]? code = null)
    {
        code ??= [0x0f, 0x0b];
        var bytes = new byte[64 + 56 + code.Length];
        var s = bytes.AsSpan();
        s[0] = 0x7f; s[1] = (byte)'E'; s[2] = (byte)'L'; s[3] = (byte)'F'; s[4] = 2; s[5] = 1; s[6] = 1;
        BinaryPrimitives.WriteUInt16LittleEndian(s[16..], type);
        BinaryPrimitives.WriteUInt16LittleEndian(s[18..], machine);
        BinaryPrimitives.WriteUInt64LittleEndian(s[24..], entry ?? address);
        BinaryPrimitives.WriteUInt64LittleEndian(s[32..], 64);
        BinaryPrimitives.WriteUInt16LittleEndian(s[54..], 56);
        BinaryPrimitives.WriteUInt16LittleEndian(s[56..], 1);
        var ph = s[64..];
        BinaryPrimitives.WriteUInt32LittleEndian(ph, 1);
        BinaryPrimitives.WriteUInt32LittleEndian(ph[4..], flags);
        BinaryPrimitives.WriteUInt64LittleEndian(ph[8..], 120);
        BinaryPrimitives.WriteUInt64LittleEndian(ph[16..], address);
        BinaryPrimitives.WriteUInt64LittleEndian(ph[32..], (ulong)code.Length);
        BinaryPrimitives.WriteUInt64LittleEndian(ph[40..], memorySize ?? (ulong)code.Length);
        code.CopyTo(s[120..]);
        return bytes;
    }

    [Fact]
    public void Loads_a_good_image_with_its_entry_and_segments()
    {
        var elf = ElfImage.Parse(MakeElf(memorySize: 8192));
        Assert.Equal(0x200000UL, elf.Entry);
        var segment = Assert.Single(elf.Segments);
        Assert.Equal(0x200000UL, segment.Address);
        Assert.Equal(2UL, segment.FileSize);
        Assert.Equal(0x200000UL + 8192, elf.ImageEnd);
    }

    [Fact]
    public void Copies_file_bytes_and_zeroes_the_rest_of_the_segment()
    {
        var elf = ElfImage.Parse(MakeElf(memorySize: 16, code: [1, 2, 3]));
        using var memory = new GuestMemory(MemoryMapping.Anonymous(GuestLayout.MinMemorySize));
        memory.Span(0x200000, 16).Fill(0xcc);
        elf.CopyTo(memory);
        Assert.Equal(new byte[] { 1, 2, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 }, memory.Span(0x200000, 16).ToArray());
    }

    [Fact]
    public void Refuses_a_truncated_file()
    {
        var good = MakeElf();
        Assert.Contains("truncated", Assert.Throws<ElfFormatException>(() => ElfImage.Parse(good[..40])).Message);
        Assert.Contains("truncated", Assert.Throws<ElfFormatException>(() => ElfImage.Parse(good[..100])).Message);
        Assert.Contains("truncated", Assert.Throws<ElfFormatException>(() => ElfImage.Parse(good[..121])).Message);
    }

    [Fact]
    public void Refuses_what_is_not_an_ELF() =>
        Assert.Contains("not an ELF", Assert.Throws<ElfFormatException>(() => ElfImage.Parse(new byte[200])).Message);

    [Fact]
    public void Refuses_another_machine() =>
        Assert.Contains("not x86-64", Assert.Throws<ElfFormatException>(() => ElfImage.Parse(MakeElf(machine: 183))).Message);

    [Fact]
    public void Refuses_a_shared_object() =>
        Assert.Contains("not a static executable", Assert.Throws<ElfFormatException>(() => ElfImage.Parse(MakeElf(type: 3))).Message);

    [Theory]
    [InlineData(0x1000UL)]
    [InlineData(0xffff_ffff_ffff_0000UL)]
    public void Refuses_segments_outside_guest_memory(ulong address) =>
        Assert.Contains("outside guest memory", Assert.Throws<ElfFormatException>(() => ElfImage.Parse(MakeElf(address: address))).Message);

    [Fact]
    public void Refuses_an_image_larger_than_the_guest()
    {
        var elf = ElfImage.Parse(MakeElf(memorySize: 1UL << 30));
        Assert.Throws<ElfFormatException>(() => elf.CheckFits(512UL << 20, "big"));
    }

    [Fact]
    public void Refuses_an_entry_outside_executable_code()
    {
        Assert.Contains("entry point", Assert.Throws<ElfFormatException>(() => ElfImage.Parse(MakeElf(entry: 0x400000))).Message);
        Assert.Contains("entry point", Assert.Throws<ElfFormatException>(() => ElfImage.Parse(MakeElf(flags: 6))).Message);
    }

    [Fact]
    public void Loads_the_built_hello_world_guest()
    {
        var elf = Guests.Elf("hello-world");
        Assert.Equal(GuestAbi.ElfBase, elf.Entry);
        Assert.Equal(64, elf.Sha256.Length);
    }
}

using System.Buffers.Binary;
using Snapfn.Linux.Loader;

namespace Snapfn.Linux.Tests.Loader;

public sealed class ElfProgramTests
{
    private static ElfProgram Parse(byte[] file) =>
        ElfProgram.Parse((offset, count) => file.AsSpan((int)Math.Min(offset, file.Length), (int)Math.Min(count, Math.Max(0, file.Length - offset))).ToArray(),
            file.Length, "prog");

    /// <summary>A minimal ELF: header, one PT_INTERP (optional) and one PT_LOAD covering the whole file.</summary>
    private static byte[] Elf(ushort type = 2, ushort machine = 62, string? interp = null, ulong loadVaddr = 0x400000, ulong memsz = 0x2000)
    {
        var phnum = interp is null ? 1 : 2;
        var file = new byte[0x200];
        "\x7f"u8.CopyTo(file);
        "ELF"u8.CopyTo(file.AsSpan(1));
        file[4] = 2;
        file[5] = 1;
        var h = file.AsSpan();
        BinaryPrimitives.WriteUInt16LittleEndian(h[16..], type);
        BinaryPrimitives.WriteUInt16LittleEndian(h[18..], machine);
        BinaryPrimitives.WriteUInt64LittleEndian(h[24..], loadVaddr + 0x100);
        BinaryPrimitives.WriteUInt64LittleEndian(h[32..], 64);
        BinaryPrimitives.WriteUInt16LittleEndian(h[54..], 56);
        BinaryPrimitives.WriteUInt16LittleEndian(h[56..], (ushort)phnum);
        var load = h.Slice(64, 56);
        BinaryPrimitives.WriteUInt32LittleEndian(load, 1);
        BinaryPrimitives.WriteUInt32LittleEndian(load[4..], 5);
        BinaryPrimitives.WriteUInt64LittleEndian(load[16..], loadVaddr);
        BinaryPrimitives.WriteUInt64LittleEndian(load[32..], (ulong)file.Length);
        BinaryPrimitives.WriteUInt64LittleEndian(load[40..], memsz);
        if (interp is not null)
        {
            var ph = h.Slice(120, 56);
            BinaryPrimitives.WriteUInt32LittleEndian(ph, 3);
            BinaryPrimitives.WriteUInt64LittleEndian(ph[8..], 0x180);
            BinaryPrimitives.WriteUInt64LittleEndian(ph[32..], (ulong)interp.Length + 1);
            System.Text.Encoding.ASCII.GetBytes(interp, h[0x180..]);
        }
        return file;
    }

    [Fact]
    public void A_static_executable_and_a_dynamic_pie_parse()
    {
        var exe = Parse(Elf());
        Assert.False(exe.IsPositionIndependent);
        Assert.Null(exe.Interpreter);
        Assert.Equal(0x400100UL, exe.Entry);
        Assert.Equal(0x400000UL, exe.LowestAddress);
        Assert.Equal(0x402000UL, exe.HighestAddress);

        var pie = Parse(Elf(type: 3, interp: "/lib64/ld-linux-x86-64.so.2", loadVaddr: 0));
        Assert.True(pie.IsPositionIndependent);
        Assert.Equal("/lib64/ld-linux-x86-64.so.2", pie.Interpreter);
    }

    [Fact]
    public void Bad_files_are_refused_with_what_is_wrong()
    {
        Assert.Contains("not an ELF", Assert.Throws<ProgramLoadException>(() => Parse("hello"u8.ToArray())).Message);
        Assert.Contains("script", Assert.Throws<ProgramLoadException>(() => Parse("#!/bin/sh\necho\n"u8.ToArray())).Message);
        Assert.Contains("not x86-64", Assert.Throws<ProgramLoadException>(() => Parse(Elf(machine: 183))).Message);
        Assert.Contains("not an executable", Assert.Throws<ProgramLoadException>(() => Parse(Elf(type: 1))).Message);
        Assert.Contains("truncated", Assert.Throws<ProgramLoadException>(() => Parse(Elf()[..100])).Message);
        Assert.Contains("impossible", Assert.Throws<ProgramLoadException>(() => Parse(Elf(memsz: 0x10))).Message);
        Assert.Contains("impossible", Assert.Throws<ProgramLoadException>(() => Parse(Elf(loadVaddr: 0xffff_ffff_ffff_0000))).Message);
    }
}

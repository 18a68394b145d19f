using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Snapfn.Vmm;

/// <summary>A loadable segment of a guest ELF: file bytes copied to <see cref="Address"/>, the rest of MemorySize zeroed.</summary>
public sealed record ElfSegment(ulong Address, ulong FileOffset, ulong FileSize, ulong MemorySize, bool Executable);

/// <summary>The ELF is not a guest Snapfn can load; the message says what is wrong with it.</summary>
public sealed class ElfFormatException : Exception
{
    public ElfFormatException(string message) : base(message) { }

    public ElfFormatException() { }

    public ElfFormatException(string message, Exception innerException) : base(message, innerException) { }
}

/// <summary>
/// A static x86-64 ELF executable, validated so that every segment lands inside guest memory above
/// <see cref="GuestAbi.ElfBase"/>; loading it cannot touch anything else.
/// </summary>
public sealed class ElfImage
{
    private const int HeaderSize = 64;
    private const int ProgramHeaderSize = 56;
    private const ushort MachineX86_64 = 62;
    private const ushort TypeExecutable = 2;
    private const uint SegmentLoad = 1;
    private const uint FlagExecute = 1;

    private readonly byte[] _bytes;

    private ElfImage(byte[] bytes, ulong entry, IReadOnlyList<ElfSegment> segments)
    {
        _bytes = bytes;
        Entry = entry;
        Segments = segments;
        ImageEnd = segments.Max(s => s.Address + s.MemorySize);
        Sha256 = Convert.ToHexStringLower(SHA256.HashData(bytes));
    }

    public ulong Entry { get; }

    public IReadOnlyList<ElfSegment> Segments { get; }

    /// <summary>The first address above every segment.</summary>
    public ulong ImageEnd { get; }

    /// <summary>Ties a snapshot to the exact binary it was taken from.</summary>
    public string Sha256 { get; }

    public static ElfImage Load(string path)
    {
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ElfFormatException($"cannot read guest ELF '{path}': {e.Message}", e);
        }
        return Parse(bytes, path);
    }

    /// <summary>Validates <paramref name="bytes"/>; <paramref name="name"/> only appears in error messages.</summary>
    public static ElfImage Parse(byte[] bytes, string name = "guest ELF")
    {
        ArgumentNullException.ThrowIfNull(bytes);
        if (bytes.Length < HeaderSize)
            throw new ElfFormatException($"{name} is truncated: {bytes.Length} bytes, shorter than an ELF header");
        if (bytes[0] != 0x7f || bytes[1] != (byte)'E' || bytes[2] != (byte)'L' || bytes[3] != (byte)'F')
            throw new ElfFormatException($"{name} is not an ELF file (bad magic)");
        if (bytes[4] != 2 || bytes[5] != 1)
            throw new ElfFormatException($"{name} is not a 64-bit little-endian ELF");
        var header = bytes.AsSpan();
        var type = BinaryPrimitives.ReadUInt16LittleEndian(header[16..]);
        var machine = BinaryPrimitives.ReadUInt16LittleEndian(header[18..]);
        if (machine != MachineX86_64)
            throw new ElfFormatException($"{name} is for machine {machine}, not x86-64 (62)");
        if (type != TypeExecutable)
            throw new ElfFormatException($"{name} is not a static executable (ELF type {type}); build it with the Snapfn guest Makefile");
        var entry = BinaryPrimitives.ReadUInt64LittleEndian(header[24..]);
        var phoff = BinaryPrimitives.ReadUInt64LittleEndian(header[32..]);
        var phentsize = BinaryPrimitives.ReadUInt16LittleEndian(header[54..]);
        var phnum = BinaryPrimitives.ReadUInt16LittleEndian(header[56..]);
        if (phentsize != ProgramHeaderSize)
            throw new ElfFormatException($"{name} has program headers of {phentsize} bytes, not {ProgramHeaderSize}");
        if (phoff > (ulong)bytes.Length || (ulong)phnum * ProgramHeaderSize > (ulong)bytes.Length - phoff)
            throw new ElfFormatException($"{name} is truncated: its program headers run past the end of the file");

        var segments = new List<ElfSegment>();
        for (var i = 0; i < phnum; i++)
        {
            var ph = header.Slice((int)phoff + i * ProgramHeaderSize, ProgramHeaderSize);
            if (BinaryPrimitives.ReadUInt32LittleEndian(ph) != SegmentLoad)
                continue;
            var flags = BinaryPrimitives.ReadUInt32LittleEndian(ph[4..]);
            var offset = BinaryPrimitives.ReadUInt64LittleEndian(ph[8..]);
            var address = BinaryPrimitives.ReadUInt64LittleEndian(ph[16..]);
            var fileSize = BinaryPrimitives.ReadUInt64LittleEndian(ph[32..]);
            var memorySize = BinaryPrimitives.ReadUInt64LittleEndian(ph[40..]);
            if (offset > (ulong)bytes.Length || fileSize > (ulong)bytes.Length - offset)
                throw new ElfFormatException($"{name} is truncated: segment {i} runs past the end of the file");
            if (fileSize > memorySize)
                throw new ElfFormatException($"{name}: segment {i} has more file bytes than memory bytes");
            if (address < GuestAbi.ElfBase || memorySize > GuestLayout.MaxMemorySize || address > GuestLayout.MaxMemorySize - memorySize)
                throw new ElfFormatException(
                    $"{name}: segment {i} at 0x{address:x} (+0x{memorySize:x}) is outside guest memory; guests are linked at 0x{GuestAbi.ElfBase:x}");
            segments.Add(new ElfSegment(address, offset, fileSize, memorySize, (flags & FlagExecute) != 0));
        }
        if (segments.Count == 0)
            throw new ElfFormatException($"{name} has no loadable segment");
        if (!segments.Any(s => s.Executable && entry >= s.Address && entry < s.Address + s.MemorySize))
            throw new ElfFormatException($"{name}: entry point 0x{entry:x} is not in an executable segment");
        return new ElfImage(bytes, entry, segments);
    }

    /// <summary>Checks that the image fits in a guest of <paramref name="memorySize"/> bytes with room to run.</summary>
    public void CheckFits(ulong memorySize, string name)
    {
        if (ImageEnd > memorySize)
            throw new ElfFormatException(
                $"{name}: its segments end at 0x{ImageEnd:x}, beyond the guest's {memorySize >> 20} MiB of memory");
    }

    /// <summary>Copies the segments into <paramref name="memory"/>, which starts at guest address 0.</summary>
    public void CopyTo(GuestMemory memory)
    {
        ArgumentNullException.ThrowIfNull(memory);
        foreach (var segment in Segments)
        {
            var target = memory.Span(segment.Address, segment.MemorySize);
            _bytes.AsSpan((int)segment.FileOffset, (int)segment.FileSize).CopyTo(target);
            target[(int)segment.FileSize..].Clear();
        }
    }
}

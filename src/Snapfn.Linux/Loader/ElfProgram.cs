using System.Buffers.Binary;
using System.Text;

namespace Snapfn.Linux.Loader;

/// <summary>The program cannot be started; the message says what is wrong and what to do.</summary>
public sealed class ProgramLoadException : Exception
{
    public ProgramLoadException(string message) : base(message) { }

    public ProgramLoadException() { }

    public ProgramLoadException(string message, Exception innerException) : base(message, innerException) { }
}

/// <summary>One PT_LOAD segment as the program header gives it (addresses before any load bias).</summary>
public sealed record LoadSegment(ulong VirtualAddress, ulong FileOffset, ulong FileSize, ulong MemorySize, uint Flags)
{
    public const uint FlagExecute = 1;
    public const uint FlagWrite = 2;
    public const uint FlagRead = 4;
}

/// <summary>
/// The headers of a Linux x86-64 ELF executable or shared object (the program or its PT_INTERP): type, entry,
/// program headers, loadable segments, interpreter. Validated so that loading cannot read outside the file or
/// wrap an address; whether the segments fit in guest memory is the loader's check.
/// </summary>
public sealed class ElfProgram
{
    public const ushort TypeExecutable = 2;
    public const ushort TypeShared = 3;
    private const int HeaderSize = 64;
    private const int ProgramHeaderSize = 56;
    private const uint PtLoad = 1;
    private const uint PtInterp = 3;
    private const uint PtPhdr = 6;
    private const int MaxProgramHeaders = 128;

    private ElfProgram(ushort type, ulong entry, ulong programHeaderOffset, ushort programHeaderCount,
        IReadOnlyList<LoadSegment> segments, string? interpreter, ulong? programHeaderAddress)
    {
        Type = type;
        Entry = entry;
        ProgramHeaderOffset = programHeaderOffset;
        ProgramHeaderCount = programHeaderCount;
        Segments = segments;
        Interpreter = interpreter;
        ProgramHeaderAddress = programHeaderAddress;
    }

    public ushort Type { get; }

    /// <summary>Position-independent (ET_DYN): loaded at a base the loader chooses.</summary>
    public bool IsPositionIndependent => Type == TypeShared;

    public ulong Entry { get; }

    public ulong ProgramHeaderOffset { get; }

    public ushort ProgramHeaderCount { get; }

    public IReadOnlyList<LoadSegment> Segments { get; }

    /// <summary>PT_INTERP: the dynamic loader's path, or null for a static program.</summary>
    public string? Interpreter { get; }

    /// <summary>PT_PHDR's address, if the file has one.</summary>
    public ulong? ProgramHeaderAddress { get; }

    /// <summary>The page-aligned lowest and highest addresses of the loadable segments.</summary>
    public ulong LowestAddress => Segments.Min(s => s.VirtualAddress) & ~0xfffUL;

    public ulong HighestAddress => Segments.Max(s => s.VirtualAddress + s.MemorySize);

    /// <summary>Parses the headers; <paramref name="readAt"/> reads bytes of the file at an offset (short at EOF).</summary>
    public static ElfProgram Parse(Func<long, int, byte[]> readAt, long fileSize, string name)
    {
        ArgumentNullException.ThrowIfNull(readAt);
        var header = readAt(0, HeaderSize);
        if (header.Length >= 2 && header[0] == '#' && header[1] == '!')
            throw new ProgramLoadException($"{name} is a script ('#!'); run its interpreter instead, e.g. `snapfn exec -- /usr/bin/python3 {name}`");
        if (header.Length < HeaderSize || header[0] != 0x7f || header[1] != 'E' || header[2] != 'L' || header[3] != 'F')
            throw new ProgramLoadException($"{name} is not an ELF executable");
        if (header[4] != 2 || header[5] != 1)
            throw new ProgramLoadException($"{name} is not a 64-bit little-endian ELF");
        var h = header.AsSpan();
        var type = BinaryPrimitives.ReadUInt16LittleEndian(h[16..]);
        var machine = BinaryPrimitives.ReadUInt16LittleEndian(h[18..]);
        if (machine != 62)
            throw new ProgramLoadException($"{name} is for machine {machine}, not x86-64");
        if (type is not (TypeExecutable or TypeShared))
            throw new ProgramLoadException($"{name} is not an executable (ELF type {type})");
        var entry = BinaryPrimitives.ReadUInt64LittleEndian(h[24..]);
        var phoff = BinaryPrimitives.ReadUInt64LittleEndian(h[32..]);
        var phentsize = BinaryPrimitives.ReadUInt16LittleEndian(h[54..]);
        var phnum = BinaryPrimitives.ReadUInt16LittleEndian(h[56..]);
        if (phentsize != ProgramHeaderSize || phnum is 0 or > MaxProgramHeaders)
            throw new ProgramLoadException($"{name} has a malformed program header table ({phnum} entries of {phentsize} bytes)");
        if (phoff > (ulong)fileSize || (ulong)phnum * ProgramHeaderSize > (ulong)fileSize - phoff)
            throw new ProgramLoadException($"{name} is truncated: its program headers run past the end of the file");
        var table = readAt((long)phoff, phnum * ProgramHeaderSize);
        if (table.Length != phnum * ProgramHeaderSize)
            throw new ProgramLoadException($"{name} is truncated: its program headers could not be read");

        var segments = new List<LoadSegment>();
        string? interpreter = null;
        ulong? phdr = null;
        for (var i = 0; i < phnum; i++)
        {
            var ph = table.AsSpan(i * ProgramHeaderSize, ProgramHeaderSize);
            var kind = BinaryPrimitives.ReadUInt32LittleEndian(ph);
            var flags = BinaryPrimitives.ReadUInt32LittleEndian(ph[4..]);
            var offset = BinaryPrimitives.ReadUInt64LittleEndian(ph[8..]);
            var vaddr = BinaryPrimitives.ReadUInt64LittleEndian(ph[16..]);
            var filesz = BinaryPrimitives.ReadUInt64LittleEndian(ph[32..]);
            var memsz = BinaryPrimitives.ReadUInt64LittleEndian(ph[40..]);
            if (offset > (ulong)fileSize || filesz > (ulong)fileSize - offset)
                throw new ProgramLoadException($"{name} is truncated: segment {i} runs past the end of the file");
            switch (kind)
            {
                case PtLoad:
                    if (filesz > memsz || memsz > 1UL << 40 || vaddr > (1UL << 47) - memsz)
                        throw new ProgramLoadException($"{name}: segment {i} has impossible sizes or addresses");
                    if ((vaddr & 0xfff) != (offset & 0xfff))
                        throw new ProgramLoadException($"{name}: segment {i}'s address and file offset disagree modulo the page size");
                    segments.Add(new LoadSegment(vaddr, offset, filesz, memsz, flags));
                    break;
                case PtInterp:
                    if (filesz is 0 or > 4096)
                        throw new ProgramLoadException($"{name} has a malformed PT_INTERP");
                    var bytes = readAt((long)offset, (int)filesz);
                    interpreter = Encoding.UTF8.GetString(bytes).TrimEnd('\0');
                    break;
                case PtPhdr:
                    phdr = vaddr;
                    break;
            }
        }
        if (segments.Count == 0)
            throw new ProgramLoadException($"{name} has no loadable segment");
        segments.Sort((a, b) => a.VirtualAddress.CompareTo(b.VirtualAddress));
        return new ElfProgram(type, entry, phoff, phnum, segments, interpreter, phdr);
    }
}

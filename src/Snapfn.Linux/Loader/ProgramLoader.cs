using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using Snapfn.Interop;
using Snapfn.Linux.Abi;
using Snapfn.Linux.Files;
using Snapfn.Linux.Memory;
using Snapfn.Vmm;

namespace Snapfn.Linux.Loader;

/// <summary>
/// Does what the kernel's execve does for an ELF: maps the program's segments and those of its PT_INTERP
/// (ld-linux-x86-64.so.2, which then maps the libraries itself with mmap), the vDSO, sets the heap's start, and
/// writes the initial stack (argc, argv, envp, auxv) the psABI describes.
/// </summary>
public sealed class ProgramLoader
{
    /// <summary>Where a position-independent program goes (Linux uses 2/3 of the address space; any fixed place will do).</summary>
    public const ulong PieBase = 4UL << 20;

    private const ulong AT_NULL = 0, AT_PHDR = 3, AT_PHENT = 4, AT_PHNUM = 5, AT_PAGESZ = 6, AT_BASE = 7, AT_FLAGS = 8,
        AT_ENTRY = 9, AT_UID = 11, AT_EUID = 12, AT_GID = 13, AT_EGID = 14, AT_PLATFORM = 15, AT_HWCAP = 16,
        AT_CLKTCK = 17, AT_SECURE = 23, AT_RANDOM = 25, AT_HWCAP2 = 26, AT_EXECFN = 31, AT_SYSINFO_EHDR = 33,
        AT_MINSIGSTKSZ = 51;

    private readonly RootFileSystem _files;
    private readonly GuestMappings _mappings;
    private readonly GuestMemory _memory;

    public ProgramLoader(RootFileSystem files, GuestMappings mappings, GuestMemory memory)
    {
        _files = files;
        _mappings = mappings;
        _memory = memory;
    }

    /// <summary>Loads <paramref name="path"/> (absolute in the guest) and returns where it starts.</summary>
    public ProcessStart Load(string path, IReadOnlyList<string> arguments, IReadOnlyList<string> environment, Vdso? vdso)
    {
        ArgumentNullException.ThrowIfNull(arguments);
        ArgumentNullException.ThrowIfNull(environment);
        using var program = OpenExecutable(path);
        var elf = Parse(program, path);
        var bias = elf.IsPositionIndependent ? PieBase - elf.LowestAddress : 0;
        var end = MapSegments(program, elf, bias, path);
        _mappings.Space.SetBrkStart(end);

        ulong interpreterBase = 0;
        var entry = bias + elf.Entry;
        if (elf.Interpreter is { } interpreterPath)
        {
            var interpreterGuestPath = GuestPath.Combine("/", interpreterPath);
            using var interpreter = OpenExecutable(interpreterGuestPath);
            var interpreterElf = Parse(interpreter, interpreterGuestPath);
            if (!interpreterElf.IsPositionIndependent)
                throw new ProgramLoadException($"{interpreterGuestPath}, the interpreter of {path}, is not position-independent");
            var span = AddressSpace.PageAlignUp(interpreterElf.HighestAddress - interpreterElf.LowestAddress);
            var at = _mappings.Space.FindFree(span + GuestLayout.LargePageSize)
                ?? throw new ProgramLoadException($"guest memory is too small to load {interpreterGuestPath}");
            interpreterBase = GuestLayout.AlignUp(at, GuestLayout.LargePageSize);
            MapSegments(interpreter, interpreterElf, interpreterBase - interpreterElf.LowestAddress, interpreterGuestPath);
            interpreterBase -= interpreterElf.LowestAddress;
            entry = interpreterBase + interpreterElf.Entry;
        }

        vdso?.Map(_mappings);
        _mappings.MapAnonymous(_mappings.Space.StackBottom, AddressSpace.StackSize, Protection.Read | Protection.Write, MappingKind.Stack);
        var phdr = elf.ProgramHeaderAddress is { } a ? bias + a : bias + elf.LowestAddress + elf.ProgramHeaderOffset;
        var stack = WriteStack(path, arguments, environment, [
            (AT_PHDR, phdr), (AT_PHENT, 56), (AT_PHNUM, elf.ProgramHeaderCount), (AT_PAGESZ, AddressSpace.PageSize),
            (AT_BASE, interpreterBase), (AT_FLAGS, 0), (AT_ENTRY, bias + elf.Entry),
            (AT_UID, 0), (AT_EUID, 0), (AT_GID, 0), (AT_EGID, 0), (AT_SECURE, 0), (AT_CLKTCK, 100),
            (AT_HWCAP, CpuFeatures.Hwcap), (AT_HWCAP2, 0), (AT_MINSIGSTKSZ, 2048),
            (AT_SYSINFO_EHDR, vdso is null ? 0 : ProcessGuest.ReadOnlyWindow),
        ]);
        return new ProcessStart(entry, stack);
    }

    private HostFile OpenExecutable(string path)
    {
        var file = _files.Open(path, Libc.O_RDONLY, 0, out var errno);
        if (file is null)
            throw new ProgramLoadException(errno == Errno.ENOENT
                ? $"{path} does not exist in the guest's root"
                : $"cannot open {path} in the guest's root: {Errno.Name(errno)}");
        if (file is not HostFile host || host.IsDirectory)
        {
            file.Dispose();
            throw new ProgramLoadException($"{path} is not a regular file");
        }
        return host;
    }

    private static ElfProgram Parse(HostFile file, string path)
    {
        if (file.Stat(out var st) < 0)
            throw new ProgramLoadException($"cannot stat {path}");
        return ElfProgram.Parse((offset, count) =>
        {
            var buffer = new byte[count];
            var n = file.ReadAt(buffer, offset);
            return n <= 0 ? [] : buffer[..(int)n];
        }, st.st_size, path);
    }

    /// <summary>Maps every PT_LOAD at its address plus <paramref name="bias"/>; returns the end of the last one.</summary>
    private ulong MapSegments(HostFile file, ElfProgram elf, ulong bias, string path)
    {
        var space = _mappings.Space;
        if (!space.InProgramRange(bias + elf.LowestAddress, elf.HighestAddress - elf.LowestAddress) ||
            bias + elf.HighestAddress > space.MmapTop)
            throw new ProgramLoadException(
                $"{path} needs addresses 0x{bias + elf.LowestAddress:x}-0x{bias + elf.HighestAddress:x}, outside the guest's " +
                $"{space.MemorySize >> 20} MiB; give it more memory with --memory");
        ulong end = 0;
        foreach (var segment in elf.Segments)
        {
            var start = bias + segment.VirtualAddress;
            var pageStart = start & ~(AddressSpace.PageSize - 1);
            var fileEnd = start + segment.FileSize;
            var memoryEnd = start + segment.MemorySize;
            var protection = ProtectionOf(segment.Flags);
            var filePages = AddressSpace.PageAlignUp(fileEnd) - pageStart;
            if (segment.FileSize > 0)
            {
                var mapped = _mappings.MapFile(pageStart, filePages, protection, file.HostFd!, segment.FileOffset - (start - pageStart), path);
                if (mapped < 0)
                    throw new ProgramLoadException($"cannot map {path}: {Errno.Name(-mapped)}");
            }
            if (segment.MemorySize > segment.FileSize)
            {
                // bss: the rest of the last file page is zeroed in place, whole pages after it are anonymous.
                if (segment.FileSize > 0 && AddressSpace.PageAlignUp(fileEnd) > fileEnd)
                    _mappings.Zero(fileEnd, AddressSpace.PageAlignUp(fileEnd) - fileEnd);
                var anonymousStart = segment.FileSize > 0 ? AddressSpace.PageAlignUp(fileEnd) : pageStart;
                var anonymousEnd = AddressSpace.PageAlignUp(memoryEnd);
                if (anonymousEnd > anonymousStart)
                    _mappings.MapAnonymous(anonymousStart, anonymousEnd - anonymousStart, protection);
            }
            end = Math.Max(end, memoryEnd);
        }
        return end;
    }

    private static Protection ProtectionOf(uint flags) =>
        ((flags & LoadSegment.FlagRead) != 0 ? Protection.Read : 0) |
        ((flags & LoadSegment.FlagWrite) != 0 ? Protection.Write : 0) |
        ((flags & LoadSegment.FlagExecute) != 0 ? Protection.Execute : 0);

    /// <summary>Writes strings, then argc/argv/envp/auxv, at the top of the stack; returns the 16-byte-aligned RSP.</summary>
    private ulong WriteStack(string path, IReadOnlyList<string> arguments, IReadOnlyList<string> environment, (ulong Key, ulong Value)[] auxv)
    {
        var sp = _mappings.Space.StackTop;
        ulong Push(ReadOnlySpan<byte> bytes)
        {
            sp -= (ulong)bytes.Length;
            bytes.CopyTo(_memory.Span(sp, (ulong)bytes.Length));
            return sp;
        }
        ulong PushString(string s) => Push(Encoding.UTF8.GetBytes(s + "\0"));

        Span<byte> random = stackalloc byte[16];
        RandomNumberGenerator.Fill(random);
        var randomAddress = Push(random);
        var platform = PushString("x86_64");
        var execfn = PushString(path);
        var argv = arguments.Select(PushString).ToArray();
        var envp = environment.Select(PushString).ToArray();
        var table = new List<ulong> { (ulong)argv.Length };
        table.AddRange(argv);
        table.Add(0);
        table.AddRange(envp);
        table.Add(0);
        foreach (var (key, value) in auxv)
            table.AddRange([key, value]);
        table.AddRange([AT_PLATFORM, platform, AT_RANDOM, randomAddress, AT_EXECFN, execfn, AT_NULL, 0]);
        var bytes = (ulong)table.Count * 8;
        if (_mappings.Space.StackTop - sp + bytes + 16 > AddressSpace.StackSize / 2)
            throw new ProgramLoadException($"the arguments and environment of {path} are too large for the stack");
        sp = (sp - bytes) & ~15UL;
        var span = _memory.Span(sp, bytes);
        for (var i = 0; i < table.Count; i++)
            BinaryPrimitives.WriteUInt64LittleEndian(span[(i * 8)..], table[i]);
        return sp;
    }
}

using System.Runtime.CompilerServices;
using System.Text;
using Snapfn.Linux.Syscalls;
using Snapfn.Vmm;

namespace Snapfn.Linux.Memory;

/// <summary>A system call named memory the program has not mapped (or not with the access it needs): EFAULT.</summary>
public sealed class BadAddressException : Exception
{
    public BadAddressException(ulong address, ulong length)
        : base($"0x{address:x}+0x{length:x} is not mapped for this access")
    {
        Address = address;
    }

    public BadAddressException() { }

    public BadAddressException(string message) : base(message) { }

    public BadAddressException(string message, Exception innerException) : base(message, innerException) { }

    public ulong Address { get; }
}

/// <summary>
/// The one way system calls touch the program's memory: every pointer and length is checked against the
/// program's mappings (and their protection) before the host reads or writes a byte, so a bad pointer is EFAULT
/// and can never reach the VMM's own pages (page tables, GDT, TSS) or anything outside guest memory.
/// </summary>
public sealed unsafe class UserMemory
{
    public const int PathMax = 4096;

    private readonly GuestMemory _memory;
    private readonly AddressSpace _space;

    public UserMemory(GuestMemory memory, AddressSpace space)
    {
        _memory = memory;
        _space = space;
    }

    /// <summary>The largest single copy a system call makes; longer requests are shortened (as Linux caps read/write
    /// at 0x7ffff000 bytes).</summary>
    public const ulong MaxTransfer = 0x7ffff000;

    /// <summary>The program's bytes at [address, address+length), which it may read.</summary>
    public Span<byte> Readable(ulong address, ulong length) => Checked(address, length, Protection.Read);

    /// <summary>The program's bytes at [address, address+length), which it may write.</summary>
    public Span<byte> Writable(ulong address, ulong length) => Checked(address, length, Protection.Write);

    public Span<byte> Readable(GuestRange range) => Checked(range.Start, range.Length, Protection.Read);

    public Span<byte> Writable(GuestRange range) => Checked(range.Start, range.Length, Protection.Write);

    public T Read<T>(ulong address) where T : unmanaged =>
        Unsafe.ReadUnaligned<T>(ref Readable(address, (ulong)sizeof(T))[0]);

    public void Write<T>(ulong address, in T value) where T : unmanaged =>
        Unsafe.WriteUnaligned(ref Writable(address, (ulong)sizeof(T))[0], value);

    public void Write(ulong address, ReadOnlySpan<byte> bytes) => bytes.CopyTo(Writable(address, (ulong)bytes.Length));

    /// <summary>A NUL-terminated string of at most <paramref name="max"/> bytes (ENAMETOOLONG beyond), as UTF-8.</summary>
    public string ReadString(ulong address, int max = PathMax)
    {
        var mapping = _space.Find(address);
        if (address == 0 || mapping is null || (mapping.Protection & Protection.Read) == 0)
            throw new BadAddressException(address, 1);
        var length = 0UL;
        var at = address;
        while (true)
        {
            // Scan one mapping at a time; a string may run on into the next mapping if it is readable too.
            var run = Math.Min(mapping.End - at, (ulong)max + 1 - length);
            var bytes = _memory.Span(at, run);
            var nul = bytes.IndexOf((byte)0);
            if (nul >= 0)
                return Files.CString.Decode(_memory.Span(address, length + (ulong)nul));
            length += run;
            if (length > (ulong)max)
                throw new SyscallErrorException(Abi.Errno.ENAMETOOLONG);
            at = mapping.End;
            mapping = _space.Find(at);
            if (mapping is null || (mapping.Protection & Protection.Read) == 0)
                throw new BadAddressException(at, 1);
        }
    }

    private Span<byte> Checked(ulong address, ulong length, Protection needed)
    {
        if (length == 0)
            return [];
        // A pair that wraps past 2^64 is never mapped (IsMapped builds a GuestRange); Linux's access_ok is EFAULT too.
        if (length > int.MaxValue || !_space.IsMapped(address, length, needed))
            throw new BadAddressException(address, length);
        return _memory.Span(address, length);
    }
}

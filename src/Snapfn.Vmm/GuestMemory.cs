using System.Runtime.InteropServices;
using Snapfn.Interop;

namespace Snapfn.Vmm;

/// <summary>A guest address or range outside guest memory: the guest passed a bad pointer.</summary>
public sealed class GuestAddressException : Exception
{
    public GuestAddressException(string message) : base(message) { }

    public GuestAddressException() { }

    public GuestAddressException(string message, Exception innerException) : base(message, innerException) { }
}

/// <summary>
/// The guest's physical memory as the host sees it. Every access goes through a range check against the
/// guest's size, so a pointer a guest hands over can never reach host memory outside the mapping.
/// </summary>
public sealed unsafe class GuestMemory : IDisposable
{
    private readonly PageInstaller? _installer;

    /// <param name="installer">How whole pages get into this memory when something else serves its missing pages
    /// (userfaultfd): a host write there would wait for that server; null for memory the kernel fills itself.</param>
    public GuestMemory(MemoryMapping mapping, PageInstaller? installer = null)
    {
        ArgumentNullException.ThrowIfNull(mapping);
        Mapping = mapping;
        _installer = installer;
    }

    public MemoryMapping Mapping { get; }

    public ulong Size => Mapping.Length;

    public nint HostAddress => Mapping.Address;

    /// <summary>The bytes at [address, address+length); throws <see cref="GuestAddressException"/> outside guest memory.</summary>
    public Span<byte> Span(ulong address, ulong length)
    {
        CheckRange(address, length);
        if (length > int.MaxValue)
            throw new GuestAddressException($"range 0x{address:x}+0x{length:x} is too large to access at once");
        return new Span<byte>((byte*)Mapping.Address + address, (int)length);
    }

    public bool Contains(ulong address, ulong length) => address <= Size && length <= Size - address;

    public void CheckRange(ulong address, ulong length)
    {
        if (!Contains(address, length))
            throw new GuestAddressException(
                $"guest range 0x{address:x}+0x{length:x} is outside guest memory (0x{Size:x} bytes)");
    }

    public ref T Ref<T>(ulong address) where T : unmanaged
    {
        CheckRange(address, (ulong)sizeof(T));
        return ref *(T*)((byte*)Mapping.Address + address);
    }

    /// <summary>
    /// Replaces the whole pages at <paramref name="address"/> with <paramref name="pages"/> without reading what was
    /// there: the VMM's own pages at a restore, which must not come from the snapshot's file. Plain memory gets fresh
    /// anonymous pages first (a file mapping's copy-on-write would read the file); memory served by userfaultfd
    /// has them installed (UFFDIO_COPY: no fault to wait on) and then written, which covers pages already present.
    /// </summary>
    public void ReplacePages(ulong address, ReadOnlySpan<byte> pages)
    {
        var length = (ulong)pages.Length;
        CheckRange(address, length);
        if (_installer is { } install)
            install((ulong)Mapping.Address + address, pages);
        else
            Mapping.MapAnonymous(address, length);
        pages.CopyTo(Span(address, length));
    }

    /// <summary>Makes whole pages read as zero and frees what backed them.</summary>
    public void Discard(ulong address, ulong length)
    {
        CheckRange(address, length);
        Mapping.MapAnonymous(address, length);
    }

    /// <summary>Fills <paramref name="vector"/> with one byte a page of [address, address+length): bit 0 set where the
    /// page is resident (mincore). For anonymous memory, a page never touched is not resident and reads as zero.</summary>
    public void ResidentPages(ulong address, ulong length, Span<byte> vector)
    {
        CheckRange(address, length);
        if ((ulong)vector.Length < (length + GuestLayout.PageSize - 1) / GuestLayout.PageSize)
            throw new ArgumentException("vector too short", nameof(vector));
        fixed (byte* v = vector)
            SyscallException.Check(Libc.mincore(Mapping.Address + (nint)address, (nuint)length, v), "mincore(guest memory)");
    }

    /// <summary>Fills <paramref name="vector"/> with one byte a page of [address, address+length): 1 where the page is
    /// mapped in this process (/proc/self/pagemap's present bit). Unlike mincore, a page of a file mapping counts
    /// only once something touched it, not because the file's page happens to be cached.</summary>
    public void MappedPages(ulong address, ulong length, Span<byte> vector)
    {
        CheckRange(address, length);
        var pages = (length + GuestLayout.PageSize - 1) / GuestLayout.PageSize;
        if ((ulong)vector.Length < pages)
            throw new ArgumentException("vector too short", nameof(vector));
        using var pagemap = File.OpenHandle("/proc/self/pagemap", FileMode.Open, FileAccess.Read);
        var entries = new byte[Math.Min(pages, 1UL << 16) * 8];
        var first = ((ulong)Mapping.Address + address) / GuestLayout.PageSize;
        for (ulong done = 0; done < pages;)
        {
            var count = Math.Min(pages - done, (ulong)entries.Length / 8);
            var read = RandomAccess.Read(pagemap, entries.AsSpan(0, (int)(count * 8)), (long)((first + done) * 8));
            if (read != (int)(count * 8))
                throw new IOException($"short read of /proc/self/pagemap ({read} of {count * 8} bytes)");
            for (ulong i = 0; i < count; i++)
                vector[(int)(done + i)] = (byte)(System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(entries.AsSpan((int)(i * 8))) >> 63);
            done += count;
        }
    }

    /// <summary>Counts the pages of [address, address+length) that are resident in this process (mincore).</summary>
    public ulong CountResidentPages(ulong address, ulong length)
    {
        CheckRange(address, length);
        var pages = (length + GuestLayout.PageSize - 1) / GuestLayout.PageSize;
        var vector = new byte[pages];
        fixed (byte* v = vector)
            SyscallException.Check(Libc.mincore(Mapping.Address + (nint)address, (nuint)length, v), "mincore(guest memory)");
        ulong count = 0;
        foreach (var b in vector)
            count += (ulong)(b & 1);
        return count;
    }

    public void Dispose() => Mapping.Dispose();
}

/// <summary>Installs whole <paramref name="pages"/> at host address <paramref name="destination"/> where they are
/// missing, and leaves pages already present as they are (UFFDIO_COPY's EEXIST).</summary>
public delegate void PageInstaller(ulong destination, ReadOnlySpan<byte> pages);

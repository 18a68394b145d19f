using System.Runtime.InteropServices;
using Snapfn.Interop;

namespace Snapfn.Vmm;

/// <summary>
/// An mmap'd address range that this object owns and unmaps once. Sub-ranges may be replaced in place with
/// MAP_FIXED (file regions of a snapshot, discarded pages) without giving up ownership of the whole.
/// </summary>
public sealed class MemoryMapping : IDisposable
{
    private nint _address;

    private MemoryMapping(nint address, ulong length)
    {
        _address = address;
        Length = length;
    }

    public nint Address => _address != 0 ? _address : throw new ObjectDisposedException(nameof(MemoryMapping));

    public ulong Length { get; }

    /// <summary>
    /// Process-wide: when set, every range mapped from here on is marked MADV_NOHUGEPAGE before anything touches
    /// it, so that neither anonymous guest memory nor file pages (the page cache here holds 2 MiB folios, which a
    /// private file mapping would otherwise map with one PMD) are mapped huge. A machine setting for experiments
    /// (`snapfn bench --small-pages`), like the kernel's own transparent_hugepage switch.
    /// </summary>
    public static bool SmallPagesOnly { get; set; }

    /// <summary>Private anonymous memory, zero on first touch; MAP_NORESERVE because guests are sparse.</summary>
    public static MemoryMapping Anonymous(ulong length) =>
        Checked(Libc.mmap_anonymous(0, (nuint)length, Libc.PROT_READ | Libc.PROT_WRITE, Libc.MAP_PRIVATE | Libc.MAP_NORESERVE),
            length, $"mmap(anonymous, {length >> 20} MiB)");

    /// <summary>Maps the first <paramref name="length"/> bytes of the file <paramref name="fd"/> (a shared read-only
    /// view of a snapshot's file, a vCPU's run page). The one place Snapfn calls mmap for a new range: the result
    /// is checked, and this object unmaps it.</summary>
    public static MemoryMapping OfFile(SafeHandle fd, ulong length, int protection, int flags, string what) =>
        Checked(Libc.mmap(0, (nuint)length, protection, flags, fd, 0), length, $"mmap({what})");

    private static MemoryMapping Checked(nint address, ulong length, string operation)
    {
        if (address == Libc.MAP_FAILED)
            SyscallException.Throw(operation, Marshal.GetLastPInvokeError());
        var mapping = new MemoryMapping(address, length);
        mapping.ApplyPagePolicy(0, length);
        return mapping;
    }

    /// <summary>A MAP_FIXED mapping is a new VMA that inherits no advice: the policy is applied to each one.</summary>
    private void ApplyPagePolicy(ulong offset, ulong length)
    {
        if (SmallPagesOnly)
            SyscallException.Check(Libc.madvise(Address + (nint)offset, (nuint)length, Libc.MADV_NOHUGEPAGE), "madvise(MADV_NOHUGEPAGE)");
    }

    /// <summary>Changes the protection of the whole range (mprotect), e.g. to make a page of code executable.</summary>
    public void Protect(int protection, string what) =>
        SyscallException.Check(Libc.mprotect(Address, (nuint)Length, protection), $"mprotect({what})");

    /// <summary>Maps <paramref name="length"/> bytes of <paramref name="fd"/> at <paramref name="fileOffset"/>
    /// copy-on-write over [offset, offset+length) of this range: the file is never written.</summary>
    public void MapFilePrivate(ulong offset, ulong length, SafeHandle fd, ulong fileOffset)
    {
        CheckRange(offset, length);
        var address = Libc.mmap(Address + (nint)offset, (nuint)length, Libc.PROT_READ | Libc.PROT_WRITE,
            Libc.MAP_PRIVATE | Libc.MAP_FIXED | Libc.MAP_NORESERVE, fd, (long)fileOffset);
        if (address == Libc.MAP_FAILED)
            SyscallException.Throw($"mmap(MAP_FIXED|MAP_PRIVATE, file offset 0x{fileOffset:x}, {length} bytes)",
                Marshal.GetLastPInvokeError());
        ApplyPagePolicy(offset, length);
    }

    /// <summary>Replaces [offset, offset+length) with fresh anonymous zero pages. Unlike MADV_DONTNEED this also
    /// reads as zero where the range was file-backed (DONTNEED would bring the file's bytes back) or registered
    /// with userfaultfd (DONTNEED would make the next touch fault to the handler again).</summary>
    public void MapAnonymous(ulong offset, ulong length)
    {
        CheckRange(offset, length);
        var address = Libc.mmap_anonymous(Address + (nint)offset, (nuint)length, Libc.PROT_READ | Libc.PROT_WRITE,
            Libc.MAP_PRIVATE | Libc.MAP_FIXED | Libc.MAP_NORESERVE);
        if (address == Libc.MAP_FAILED)
            SyscallException.Throw($"mmap(MAP_FIXED|MAP_ANONYMOUS, {length} bytes)", Marshal.GetLastPInvokeError());
        ApplyPagePolicy(offset, length);
    }

    public void Advise(ulong offset, ulong length, int advice, string name)
    {
        CheckRange(offset, length);
        SyscallException.Check(Libc.madvise(Address + (nint)offset, (nuint)length, advice), $"madvise({name})");
    }

    private void CheckRange(ulong offset, ulong length)
    {
        if (offset % GuestLayout.PageSize != 0 || length % GuestLayout.PageSize != 0 || offset > Length || length > Length - offset)
            throw new ArgumentOutOfRangeException(nameof(offset), $"range 0x{offset:x}+0x{length:x} is not page-aligned inside 0x{Length:x}");
    }

    public void Dispose()
    {
        var address = Interlocked.Exchange(ref _address, 0);
        if (address != 0)
            _ = Libc.munmap(address, (nuint)Length);
    }
}

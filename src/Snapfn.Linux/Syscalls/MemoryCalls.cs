using Snapfn.Linux.Abi;
using Snapfn.Linux.Files;
using Snapfn.Linux.Memory;
using Snapfn.Vmm;
using static Snapfn.Linux.Syscalls.SyscallArgs;

namespace Snapfn.Linux.Syscalls;

/// <summary>
/// The address space: mmap, munmap, mremap, mprotect, brk, madvise. Unmapped and MADV_DONTNEED'd anonymous pages
/// are given back (zero pages again), so what a program frees is a hole in its snapshot: FaaSnap's released set.
/// Every (address, length) pair becomes a <see cref="GuestRange"/> before anything adds them up; a pair that wraps
/// past 2^64 gets the errno Linux gives it (mm/mmap.c, mm/mprotect.c, mm/madvise.c, mm/mremap.c).
/// </summary>
internal static class MemoryCalls
{
    private const ulong MAP_SHARED = 0x01, MAP_PRIVATE = 0x02, MAP_TYPE = 0x0f, MAP_FIXED = 0x10, MAP_ANONYMOUS = 0x20,
        MAP_FIXED_NOREPLACE = 0x100000;
    private const ulong MREMAP_MAYMOVE = 1, MREMAP_FIXED = 2;
    private const int MADV_DONTNEED = 4, MADV_FREE = 8, MADV_REMOVE = 9;

    public static long Mmap(LinuxProcess p, in SyscallArgs a)
    {
        var (address, length, protection, flags, offset) = (a.A0, a.A1, (Protection)(a.A2 & 7), a.A3, a.A5);
        var fd = AsInt(a.A4);
        if (length == 0 || !AddressSpace.IsPageAligned(offset) || (flags & MAP_TYPE) is not (MAP_SHARED or MAP_PRIVATE or 3))
            return -Errno.EINVAL;
        // Linux: a length whose page rounding wraps is ENOMEM; ours stops at the guest's size, far below that.
        if (length > p.Space.MemorySize)
            return -Errno.ENOMEM;
        length = AddressSpace.PageAlignUp(length);
        OpenFile? file = null;
        if ((flags & MAP_ANONYMOUS) == 0)
        {
            file = p.Files.Get(fd);
            if (file is null)
                return -Errno.EBADF;
            if (!file.CanRead || (flags & MAP_TYPE) != MAP_PRIVATE && (protection & Protection.Write) != 0 && !file.CanWrite)
                return -Errno.EACCES;
            if (file is DeviceFile && file.GuestPath == "/dev/zero")
                file = null; // an old way of asking for anonymous memory
            else if (file.HostFd is null || file.IsDirectory)
                return -Errno.ENODEV;
            else if (offset > long.MaxValue - length)
                return -Errno.EOVERFLOW; // the last byte's file offset would not fit in an off_t
        }

        ulong start;
        if ((flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) != 0)
        {
            if (!AddressSpace.IsPageAligned(address))
                return -Errno.EINVAL;
            if (!GuestRange.TryCreate(address, length, out var fixedRange) || !p.Space.InProgramRange(fixedRange))
                return address < ProcessGuest.ProgramBase ? -Errno.EPERM : -Errno.ENOMEM;
            if ((flags & MAP_FIXED_NOREPLACE) != 0 && !p.Space.IsFree(fixedRange))
                return -Errno.EEXIST;
            start = address;
        }
        else if (p.Space.FindFree(length, address & ~(AddressSpace.PageSize - 1)) is { } free)
        {
            start = free;
        }
        else
        {
            return -Errno.ENOMEM;
        }

        if (file is null)
        {
            p.Mappings.MapAnonymous(start, length, protection);
            return (long)start;
        }
        // MAP_SHARED of a /tmp file writes back (SharedFileMappings); of a root file it is a private mapping, which
        // nothing can tell apart: the root is read-only and never changes.
        var shared = (flags & MAP_TYPE) != MAP_PRIVATE && file is HostFile { Space: { } space };
        if (shared && ((HostFile)file).Seals?.CheckSharedMap((protection & Protection.Write) != 0) is < 0 and var refused)
            return refused;
        if (shared)
            ((HostFile)file).Space!.MappedFiles ??= p.Mappings.SharedWithin(p.Options.SharedFileMappingLimit);
        var mapped = p.Mappings.MapFile(start, length, protection, file.HostFd!, offset, file.GuestPath, file.MapByCopy, shared);
        return mapped < 0 ? mapped : (long)start;
    }

    public static long Munmap(LinuxProcess p, in SyscallArgs a)
    {
        // Linux: an unaligned address, a zero length or a range that wraps or leaves user space is EINVAL.
        if (!AddressSpace.IsPageAligned(a.A0) || a.A1 == 0 || !GuestRange.TryCreatePages(a.A0, a.A1, out var range))
            return -Errno.EINVAL;
        if (!p.Space.InProgramRange(range))
            return -Errno.EINVAL;
        p.Mappings.Unmap(range.Start, range.Length);
        return 0;
    }

    private const ulong PROT_READ = 1, PROT_WRITE = 2, PROT_EXEC = 4, PROT_SEM = 8, PROT_GROWSDOWN = 0x0100_0000, PROT_GROWSUP = 0x0200_0000;

    public static long Mprotect(LinuxProcess p, in SyscallArgs a) => Protect(p, a.A0, a.A1, a.A2, pkey: -1);

    /// <summary>pkey_mprotect(addr, len, prot, pkey): mprotect with pkey -1; any other key is EINVAL, since none can be
    /// allocated (<see cref="PkeyAlloc"/>).</summary>
    public static long PkeyMprotect(LinuxProcess p, in SyscallArgs a) => Protect(p, a.A0, a.A1, a.A2, AsInt(a.A3));

    /// <summary>
    /// pkey_alloc(flags, access_rights): EINVAL, as Linux on an x86 CPU whose protection keys are off (the guest's
    /// CR4.PKE is clear and CPUID says so): a program learns there are none and runs without them (V8 asks for one
    /// at start and carries on). Bad flags or rights are EINVAL too, as Linux checks them first.
    /// </summary>
    public static long PkeyAlloc(LinuxProcess p, in SyscallArgs a) => -Errno.EINVAL;

    /// <summary>pkey_free(pkey): no key is ever allocated, so every one is EINVAL, as Linux's.</summary>
    public static long PkeyFree(LinuxProcess p, in SyscallArgs a) => -Errno.EINVAL;

    /// <summary>Linux's do_mprotect_pkey, in its order of checks: PROT_GROWSDOWN with PROT_GROWSUP, an unaligned
    /// start (EINVAL), an empty range (0), a wrapping end (ENOMEM), unknown protection bits or a key that is not
    /// allocated (EINVAL), a range outside the program's mappings (ENOMEM). PROT_SEM changes nothing on x86;
    /// PROT_GROWSDOWN/UP apply the change to the range given only.</summary>
    private static long Protect(LinuxProcess p, ulong start, ulong length, ulong prot, int pkey)
    {
        if ((prot & (PROT_GROWSDOWN | PROT_GROWSUP)) == (PROT_GROWSDOWN | PROT_GROWSUP))
            return -Errno.EINVAL;
        prot &= ~(PROT_GROWSDOWN | PROT_GROWSUP);
        if (!AddressSpace.IsPageAligned(start))
            return -Errno.EINVAL;
        if (length == 0)
            return 0;
        // Linux: an end that wraps (end <= start after rounding) is ENOMEM, like a range with unmapped pages.
        if (!GuestRange.TryCreatePages(start, length, out var range))
            return -Errno.ENOMEM;
        if ((prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC | PROT_SEM)) != 0 || pkey != -1)
            return -Errno.EINVAL;
        if (!p.Space.InProgramRange(range))
            return start < ProcessGuest.ProgramBase ? -Errno.EACCES : -Errno.ENOMEM;
        // A read-only MAP_SHARED mapping made writable starts writing back (its shadow counts against the limit).
        if ((prot & PROT_WRITE) != 0 && p.Mappings.Shared?.MakeWritable(range.Start, range.Length) is < 0 and var refused)
            return refused;
        return p.Space.Protect(range, (Protection)(prot & 7)) ? 0 : -Errno.ENOMEM;
    }

    /// <summary>brk never fails with an errno: Linux answers a request it refuses with the current break.</summary>
    public static long Brk(LinuxProcess p, in SyscallArgs a)
    {
        var space = p.Space;
        if (a.A0 == 0 || a.A0 < space.BrkStart)
            return (long)space.BrkEnd;
        if (!space.TryMoveBrk(a.A0, out var oldEnd, out var newEnd))
            return (long)space.BrkEnd;
        // New heap pages came from a free range, which is zero pages (never touched, or discarded when freed);
        // pages the heap gives up are discarded.
        if (newEnd < oldEnd)
            p.Mappings.Discard(newEnd, oldEnd - newEnd);
        return (long)space.BrkEnd;
    }

    public static long Mremap(LinuxProcess p, in SyscallArgs a)
    {
        var (old, flags, target) = (a.A0, a.A3, a.A4);
        // Linux rounds both lengths up to pages; one that wraps (to 0, for it) is EINVAL.
        if (!AddressSpace.IsPageAligned(old) || !GuestRange.TryPageAlignUp(a.A1, out var oldLength) ||
            !GuestRange.TryPageAlignUp(a.A2, out var newLength) || newLength == 0 ||
            (flags & ~(MREMAP_MAYMOVE | MREMAP_FIXED)) != 0 || (flags & MREMAP_FIXED) != 0 && (flags & MREMAP_MAYMOVE) == 0)
            return -Errno.EINVAL;
        if (oldLength == 0 || !p.Space.InProgramRange(old, oldLength) || !p.Space.IsMapped(old, oldLength, Protection.None))
            return -Errno.EFAULT;
        // From here old + oldLength and old + newLength (when in range) are below the guest's size: no wrap.
        var mapping = p.Space.Find(old)!;
        if (newLength <= oldLength && (flags & MREMAP_FIXED) == 0)
        {
            if (newLength < oldLength)
                p.Mappings.Unmap(old + newLength, oldLength - newLength);
            return (long)old;
        }
        if ((flags & MREMAP_FIXED) == 0 && GuestRange.TryCreate(old, newLength, out var grownRange) &&
            grownRange.IsWithin(ProcessGuest.ProgramBase, p.Space.MmapTop) &&
            p.Space.IsFree(old + oldLength, newLength - oldLength))
        {
            var grown = Extend(p, mapping, old + oldLength, newLength - oldLength, mapping.FileOffset + (old - mapping.Start) + oldLength);
            return grown < 0 ? grown : (long)old;
        }
        if ((flags & MREMAP_MAYMOVE) == 0)
            return -Errno.ENOMEM;
        ulong destination;
        if ((flags & MREMAP_FIXED) != 0)
        {
            if (!AddressSpace.IsPageAligned(target) || !GuestRange.TryCreate(target, newLength, out var targetRange) ||
                !p.Space.InProgramRange(targetRange) || targetRange.Overlaps(GuestRange.Of(old, oldLength)))
                return -Errno.EINVAL;
            destination = target;
        }
        else if (p.Space.FindFree(newLength) is { } free)
        {
            destination = free;
        }
        else
        {
            return -Errno.ENOMEM;
        }
        var moved = Extend(p, mapping, destination, newLength, mapping.FileOffset + (old - mapping.Start));
        if (moved < 0)
            return moved;
        var kept = Math.Min(oldLength, newLength);
        p.Mappings.Copy(old, destination, kept);
        p.Mappings.Unmap(old, oldLength);
        return (long)destination;
    }

    /// <summary>Maps [start, start+length) like <paramref name="like"/>: anonymous, or the same file at <paramref name="fileOffset"/>.</summary>
    private static long Extend(LinuxProcess p, Mapping like, ulong start, ulong length, ulong fileOffset)
    {
        if (like.Kind != MappingKind.File)
        {
            p.Mappings.MapAnonymous(start, length, like.Protection, like.Kind == MappingKind.Heap ? MappingKind.Anonymous : like.Kind);
            return 0;
        }
        // A shared mapping grows or moves on the file it maps, which may have been renamed or unlinked since.
        if (like.Shared && p.Mappings.Shared?.FileAt(like.Start) is { } sharedFile)
            return p.Mappings.MapFile(start, length, like.Protection, sharedFile, fileOffset, like.Path!, copy: true, shared: true);
        var file = p.Root.Open(like.Path!, Snapfn.Interop.Libc.O_RDONLY, 0, out var errno);
        if (file?.HostFd is not { } fd)
        {
            file?.Dispose();
            return -(errno == 0 ? Errno.ENODEV : errno);
        }
        using (file)
            return p.Mappings.MapFile(start, length, like.Protection, fd, fileOffset, like.Path!, file.MapByCopy);
    }

    public static long Madvise(LinuxProcess p, in SyscallArgs a)
    {
        // Linux: an unaligned start, or a length whose rounding or end wraps, is EINVAL; an empty range is 0.
        if (!AddressSpace.IsPageAligned(a.A0) || !GuestRange.TryCreatePages(a.A0, a.A1, out var range))
            return -Errno.EINVAL;
        if (range.IsEmpty)
            return 0;
        var advice = AsInt(a.A2);
        if (advice is not (MADV_DONTNEED or MADV_FREE or MADV_REMOVE))
            return 0; // hints (WILLNEED, HUGEPAGE, ...) change nothing a program can observe
        if (!p.Space.InProgramRange(range) || !p.Space.IsMapped(range, Protection.None))
            return -Errno.ENOMEM;
        if (advice == MADV_REMOVE)
            return -Errno.EINVAL;
        // Anonymous pages become zero pages again; private file pages go back to the file's contents.
        var end = range.End;
        var at = range.Start;
        while (at < end)
        {
            var m = p.Space.Find(at)!;
            var upTo = Math.Min(m.End, end);
            if (m.Shared)
            {
                // Linux drops the pages and reads them again from the file, which holds the stores: nothing is lost.
                p.Mappings.Shared?.Sync(at, upTo - at);
            }
            else if (m.Kind == MappingKind.File)
            {
                var result = Extend(p, m, at, upTo - at, m.FileOffset + (at - m.Start));
                if (result < 0)
                    return result;
            }
            else
            {
                p.Mappings.Discard(at, upTo - at);
            }
            at = upTo;
        }
        return 0;
    }

    /// <summary>mlock, munlock and friends: nothing to pin in a guest's memory.</summary>
    public static long Nothing(LinuxProcess p, in SyscallArgs a) => 0;

    private const int MS_ASYNC = 1, MS_INVALIDATE = 2, MS_SYNC = 4;

    /// <summary>msync: EINVAL for an unaligned address or unknown flags (MS_ASYNC with MS_SYNC too), ENOMEM where part
    /// of the range is unmapped, as Linux's; the stores of the range's shared mappings reach their files (MS_ASYNC
    /// too: nothing is cheaper than doing it now), and every shared mapping of those files sees them.</summary>
    public static long Msync(LinuxProcess p, in SyscallArgs a)
    {
        var flags = AsInt(a.A2);
        if (!AddressSpace.IsPageAligned(a.A0) || (flags & ~(MS_ASYNC | MS_INVALIDATE | MS_SYNC)) != 0 ||
            (flags & (MS_ASYNC | MS_SYNC)) == (MS_ASYNC | MS_SYNC))
            return -Errno.EINVAL;
        if (!GuestRange.TryCreatePages(a.A0, a.A1, out var range))
            return -Errno.ENOMEM;
        if (range.IsEmpty)
            return 0;
        if (!p.Space.InProgramRange(range) || !p.Space.IsMapped(range, Protection.None))
            return -Errno.ENOMEM;
        p.Mappings.Shared?.Sync(range.Start, range.Length);
        return 0;
    }
}

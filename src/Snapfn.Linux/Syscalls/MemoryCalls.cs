using Snapfn.Linux.Abi;
using Snapfn.Linux.Files;
using Snapfn.Linux.Memory;
using Snapfn.Vmm;
using static Snapfn.Linux.Syscalls.SyscallArgs;

namespace Snapfn.Linux.Syscalls;

/// <summary>
/// The address space: mmap, munmap, mremap, mprotect, brk, madvise. Unmapped and MADV_DONTNEED'd anonymous pages
/// are given back (zero pages again), so what a program frees is a hole in its snapshot: FaaSnap's released set.
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
        }

        ulong start;
        if ((flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) != 0)
        {
            if (!AddressSpace.IsPageAligned(address))
                return -Errno.EINVAL;
            if (!p.Space.InProgramRange(address, length))
                return address < ProcessGuest.ProgramBase ? -Errno.EPERM : -Errno.ENOMEM;
            if ((flags & MAP_FIXED_NOREPLACE) != 0 && !p.Space.IsFree(address, length))
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
        // MAP_SHARED of a file is mapped privately too: the root is read-only, and a /tmp file's shared writes
        // would need the host mapping to be shared with the file (not done: no program here has needed it).
        var mapped = p.Mappings.MapFile(start, length, protection, file.HostFd!, offset, file.GuestPath, file.MapByCopy);
        return mapped < 0 ? mapped : (long)start;
    }

    public static long Munmap(LinuxProcess p, in SyscallArgs a)
    {
        if (!AddressSpace.IsPageAligned(a.A0) || a.A1 == 0)
            return -Errno.EINVAL;
        var length = AddressSpace.PageAlignUp(a.A1);
        if (!p.Space.InProgramRange(a.A0, length))
            return -Errno.EINVAL;
        p.Mappings.Unmap(a.A0, length);
        return 0;
    }

    public static long Mprotect(LinuxProcess p, in SyscallArgs a)
    {
        if (!AddressSpace.IsPageAligned(a.A0))
            return -Errno.EINVAL;
        var length = AddressSpace.PageAlignUp(a.A1);
        if (length == 0)
            return 0;
        if (!p.Space.InProgramRange(a.A0, length))
            return a.A0 < ProcessGuest.ProgramBase ? -Errno.EACCES : -Errno.ENOMEM;
        return p.Space.Protect(a.A0, length, (Protection)(a.A2 & 7)) ? 0 : -Errno.ENOMEM;
    }

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
            p.Memory.Discard(newEnd, oldEnd - newEnd);
        return (long)space.BrkEnd;
    }

    public static long Mremap(LinuxProcess p, in SyscallArgs a)
    {
        var (old, oldLength, newLength, flags, target) = (a.A0, AddressSpace.PageAlignUp(a.A1), AddressSpace.PageAlignUp(a.A2), a.A3, a.A4);
        if (!AddressSpace.IsPageAligned(old) || newLength == 0 || (flags & ~(MREMAP_MAYMOVE | MREMAP_FIXED)) != 0 ||
            (flags & MREMAP_FIXED) != 0 && (flags & MREMAP_MAYMOVE) == 0)
            return -Errno.EINVAL;
        if (oldLength == 0 || !p.Space.InProgramRange(old, oldLength) || !p.Space.IsMapped(old, oldLength, Protection.None))
            return -Errno.EFAULT;
        var mapping = p.Space.Find(old)!;
        if (newLength <= oldLength && (flags & MREMAP_FIXED) == 0)
        {
            if (newLength < oldLength)
                p.Mappings.Unmap(old + newLength, oldLength - newLength);
            return (long)old;
        }
        if ((flags & MREMAP_FIXED) == 0 && p.Space.InProgramRange(old, newLength) && old + newLength <= p.Space.MmapTop &&
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
            if (!AddressSpace.IsPageAligned(target) || !p.Space.InProgramRange(target, newLength) ||
                target < old + oldLength && old < target + newLength)
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
        if (!AddressSpace.IsPageAligned(a.A0))
            return -Errno.EINVAL;
        var length = AddressSpace.PageAlignUp(a.A1);
        var advice = AsInt(a.A2);
        if (advice is not (MADV_DONTNEED or MADV_FREE or MADV_REMOVE))
            return 0; // hints (WILLNEED, HUGEPAGE, ...) change nothing a program can observe
        if (!p.Space.InProgramRange(a.A0, length) || !p.Space.IsMapped(a.A0, length, Protection.None))
            return -Errno.ENOMEM;
        if (advice == MADV_REMOVE)
            return -Errno.EINVAL;
        // Anonymous pages become zero pages again; private file pages go back to the file's contents.
        var end = a.A0 + length;
        var at = a.A0;
        while (at < end)
        {
            var m = p.Space.Find(at)!;
            var upTo = Math.Min(m.End, end);
            if (m.Kind == MappingKind.File)
            {
                var result = Extend(p, m, at, upTo - at, m.FileOffset + (at - m.Start));
                if (result < 0)
                    return result;
            }
            else
            {
                p.Memory.Discard(at, upTo - at);
            }
            at = upTo;
        }
        return 0;
    }

    /// <summary>msync, mlock, munlock and friends: nothing to write back or pin in a guest's memory.</summary>
    public static long Nothing(LinuxProcess p, in SyscallArgs a) => 0;
}

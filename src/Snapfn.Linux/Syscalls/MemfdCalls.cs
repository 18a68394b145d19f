using Snapfn.Interop;
using Snapfn.Linux.Abi;
using Snapfn.Linux.Files;
using Snapfn.Linux.Memory;
using static Snapfn.Linux.Syscalls.SyscallArgs;

namespace Snapfn.Linux.Syscalls;

/// <summary>
/// memfd_create and the seals of its files. A memfd is an unnamed file of the VM's /tmp (O_TMPFILE on the host), so
/// its bytes count against the /tmp quota (ENOSPC past it, as a full tmpfs) and it is a /tmp file in every other
/// way: read, write, ftruncate, fstat, and MAP_SHARED mappings that write back (SharedFileMappings). The program sees
/// it as Linux shows it: <c>/memfd:NAME (deleted)</c> in /proc/self/fd and /proc/self/maps.
/// </summary>
internal static class MemfdCalls
{
    private const uint MFD_CLOEXEC = 1, MFD_ALLOW_SEALING = 2, MFD_HUGETLB = 4;

    /// <summary>Linux's bits for a huge page size with MFD_HUGETLB (MFD_HUGE_MASK &lt;&lt; MFD_HUGE_SHIFT).</summary>
    private const uint MfdHugeSizeBits = 0x3fu << 26;

    /// <summary>NAME_MAX less the "memfd:" prefix.</summary>
    private const int NameMax = 249;

    /// <summary>memfd_create(name, flags): EINVAL for unknown flags and a name over 249 bytes, EFAULT for a bad name;
    /// MFD_HUGETLB is ENOSYS, as on a Linux built without hugetlbfs (no huge pages here).</summary>
    public static long MemfdCreate(LinuxProcess p, in SyscallArgs a)
    {
        var flags = (uint)a.A1;
        var known = MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_HUGETLB | ((flags & MFD_HUGETLB) != 0 ? MfdHugeSizeBits : 0);
        if ((flags & ~known) != 0)
            return -Errno.EINVAL;
        string name;
        try
        {
            name = p.User.ReadString(a.A0, NameMax);
        }
        catch (SyscallErrorException e) when (e.Errno == Errno.ENAMETOOLONG)
        {
            return -Errno.EINVAL;
        }
        if ((flags & MFD_HUGETLB) != 0)
            return -Errno.ENOSYS;
        // Mode 0777, as Linux's shmem inode; the umask does not apply to a file made with no name.
        if (p.Root.Open("/tmp", Libc.O_TMPFILE | Libc.O_RDWR, 0x1ff, out var errno, shownAs: $"/memfd:{name} (deleted)") is not HostFile file)
            return -errno;
        file.IsMemfd = true;
        file.Seals = new FileSeals((flags & MFD_ALLOW_SEALING) != 0 ? 0 : FileSeals.F_SEAL_SEAL);
        var fd = p.Files.Add(file, closeOnExec: (flags & MFD_CLOEXEC) != 0);
        if (fd < 0)
            file.Dispose();
        return fd;
    }

    /// <summary>fcntl F_ADD_SEALS: see <see cref="FileSeals.Add"/>; a file that cannot be sealed (not of /tmp, a pipe)
    /// is EINVAL once the description is writable, as on Linux.</summary>
    public static long AddSeals(LinuxProcess p, OpenFile file, ulong seals)
    {
        if (seals > uint.MaxValue)
            return -Errno.EINVAL;
        if (!file.CanWrite)
            return -Errno.EPERM;
        if (file is not HostFile { Seals: { } fileSeals, HostFd: { } fd })
            return -Errno.EINVAL;
        var identity = SharedFileMappings.IdentityOf(fd);
        var mapped = p.Mappings.Shared is { } shared && identity is not null && shared.Files().Any(f => f.File == identity);
        return fileSeals.Add((int)seals, writable: true, mapped);
    }

    /// <summary>fcntl F_GET_SEALS: the seals, or EINVAL for a file that cannot be sealed.</summary>
    public static long GetSeals(OpenFile file) => file is HostFile { Seals: { } seals } ? seals.Value : -Errno.EINVAL;
}

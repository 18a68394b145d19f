using System.Globalization;
using System.Numerics;
using System.Text;
using Snapfn.Interop;
using Snapfn.Linux.Abi;
using Snapfn.Linux.Memory;
using Snapfn.Linux.Syscalls;

namespace Snapfn.Linux.Files;

/// <summary>
/// The part of /proc that describes the program itself, made from the process's state when it is opened:
/// /proc/self (also /proc/1) with fd/ (a link per open descriptor, to the path it was opened by, or pipe:[n] and
/// anon_inode:[...] as Linux names them; /dev/fd is the same directory), status (identity, memory, signal masks),
/// stat and statm (the same in proc(5)'s one-line forms) and maps (the address space's mappings). /proc/self/exe stays with <see cref="RootFileSystem"/>. Opening
/// /proc/self/fd/N reopens a file by its path, and shares a pipe's or eventfd's open file (Linux reopens the inode).
/// </summary>
internal static class ProcFiles
{
    private const string Self = "/proc/self";
    private const ulong SelfInode = 0x400, FdInode = 0x500, StatusInode = 0x401, MapsInode = 0x402;
    private static readonly string[] _files = ["maps", "stat", "statm", "status"];

    /// <summary>The /proc/self path <paramref name="path"/> names, or null when it is not one of these.</summary>
    public static string? Normalize(string path)
    {
        foreach (var alias in (ReadOnlySpan<string>)["/proc/self", "/proc/1", "/proc/thread-self"])
        {
            if (path == alias || path.StartsWith(alias + "/", StringComparison.Ordinal))
                path = Self + path[alias.Length..];
        }
        if (path == "/dev/fd" || path.StartsWith("/dev/fd/", StringComparison.Ordinal))
            path = Self + "/fd" + path["/dev/fd".Length..];
        return path is Self or Self + "/fd" || _files.Any(f => path == Self + "/" + f) || FdNumber(path) is not null ? path : null;
    }

    private static int? FdNumber(string path) =>
        path.StartsWith(Self + "/fd/", StringComparison.Ordinal) &&
        int.TryParse(path.AsSpan((Self + "/fd/").Length), NumberStyles.None, CultureInfo.InvariantCulture, out var fd) ? fd : null;

    public static OpenFile? Open(LinuxProcess p, string path, int flags, out int errno)
    {
        errno = 0;
        if (FdNumber(path) is { } fd)
        {
            if (p.Files.Get(fd) is not { } file)
            {
                errno = Errno.ENOENT;
                return null;
            }
            if (file is HostFile)
                return p.Root.Open(file.GuestPath, flags, 0, out errno);
            file.AddReference();
            return file;
        }
        if ((flags & Libc.O_ACCMODE) != Libc.O_RDONLY)
        {
            errno = Errno.EACCES;
            return null;
        }
        switch (path)
        {
            case Self:
                return new SyntheticDirectory(path, SelfInode,
                    () => [("exe", SyntheticDirectory.DT_LNK), ("fd", SyntheticDirectory.DT_DIR), .. _files.Select(f => (f, SyntheticDirectory.DT_REG))]);
            case Self + "/fd":
                return new SyntheticDirectory(path, FdInode,
                    () => [.. p.Files.Entries().Select(e => (e.Fd.ToString(CultureInfo.InvariantCulture), SyntheticDirectory.DT_LNK))]);
            default:
                if ((flags & Libc.O_DIRECTORY) != 0)
                {
                    errno = Errno.ENOTDIR;
                    return null;
                }
                var content = path[(Self.Length + 1)..] switch
                {
                    "maps" => Maps(p),
                    "stat" => ProcessStat(p),
                    "statm" => ProcessStatm(p),
                    _ => Status(p),
                };
                return new ContentFile(path, content, flags & Libc.O_ACCMODE);
        }
    }

    public static int Stat(LinuxProcess p, string path, bool followSymlinks, out Kernel.stat st)
    {
        if (FdNumber(path) is { } fd)
        {
            st = default;
            if (p.Files.Get(fd) is not { } file)
                return -Errno.ENOENT;
            if (followSymlinks)
                return file.Stat(out st);
            st.st_mode = Kernel.S_IFLNK | 0x1c0; // lrwx------
            st.st_nlink = 1;
            st.st_size = 64;
            st.st_ino = FdInode + 1 + (ulong)fd;
            return 0;
        }
        return path switch
        {
            Self => SyntheticDirectory.Stat(SelfInode, out st),
            Self + "/fd" => SyntheticDirectory.Stat(FdInode, out st),
            _ => ContentFile.Stat(path, 0, out st), // procfs reports size 0
        };
    }

    /// <summary>chmod of a /proc/self path: /proc/self/fd/N reaches the open file (the inode a file of /tmp holds, even
    /// through O_PATH: glibc's fchmodat(AT_SYMLINK_NOFOLLOW) relies on it); procfs's own entries are EPERM, as Linux's.</summary>
    public static int ChangeMode(LinuxProcess p, string path, int mode)
    {
        if (FdNumber(path) is { } fd)
        {
            return p.Files.Get(fd) switch
            {
                null => -Errno.ENOENT,
                HostFile host => host.ChangeModeThroughPath(mode),
                var file => file.ChangeMode(mode),
            };
        }
        return Stat(p, path, followSymlinks: true, out _) is < 0 and var missing ? missing : -Errno.EPERM;
    }

    /// <summary>chown of a /proc/self path: /proc/self/fd/N followed reaches the open file; procfs's own entries are
    /// root's, so only what leaves them root's succeeds.</summary>
    public static int ChangeOwner(LinuxProcess p, string path, uint uid, uint gid, bool followSymlinks)
    {
        if (FdNumber(path) is { } fd && followSymlinks)
            return p.Files.Get(fd) is { } file ? file.ChangeOwner(uid, gid) : -Errno.ENOENT;
        var found = Stat(p, path, followSymlinks, out var st);
        return found < 0 ? found : Ownership.KeepOnly(st, uid, gid);
    }

    /// <summary>The open file /proc/self/fd/N leads to; null for any other /proc/self path or a closed descriptor.</summary>
    public static OpenFile? OpenFileOf(LinuxProcess p, string path) => FdNumber(path) is { } fd ? p.Files.Get(fd) : null;

    public static long ReadLink(LinuxProcess p, string path, Span<byte> buffer)
    {
        if (FdNumber(path) is not { } fd)
            return -Errno.EINVAL;
        if (p.Files.Get(fd) is not { } file)
            return -Errno.ENOENT;
        var bytes = CString.Bytes(file.GuestPath);
        var n = Math.Min(bytes.Length, buffer.Length);
        bytes.AsSpan(0, n).CopyTo(buffer);
        return n;
    }

    private static byte[] Status(LinuxProcess p)
    {
        var mappings = p.Space.Mappings;
        static long Kib(ulong bytes) => (long)(bytes / 1024);
        var total = mappings.Aggregate(0UL, (sum, m) => sum + m.Length);
        var data = mappings.Where(m => m.Kind is MappingKind.Heap or MappingKind.Anonymous).Aggregate(0UL, (sum, m) => sum + m.Length);
        var stack = mappings.Where(m => m.Kind == MappingKind.Stack).Aggregate(0UL, (sum, m) => sum + m.Length);
        var exe = mappings.Where(m => m.Kind == MappingKind.File && (m.Protection & Protection.Execute) != 0).Aggregate(0UL, (sum, m) => sum + m.Length);
        ulong ignored = 0, caught = 0;
        for (var signal = 1; signal <= SignalState.Count; signal++)
        {
            var handler = p.Signals.Action(signal).sa_handler;
            if (handler == SignalState.Ignore)
                ignored |= SignalState.Bit(signal);
            else if (handler != SignalState.Default)
                caught |= SignalState.Bit(signal);
        }
        var (threadPending, sharedPending) = (p.Signals.Thread.Pending, p.Signals.ProcessPending);
        var text = new StringBuilder()
            .Append(CultureInfo.InvariantCulture, $"Name:\t{Encoding.UTF8.GetString(p.ThreadName)}\n")
            .Append(CultureInfo.InvariantCulture, $"Umask:\t{Convert.ToString(p.Umask, 8).PadLeft(4, '0')}\n")
            .Append("State:\tR (running)\nTgid:\t1\nNgid:\t0\nPid:\t1\nPPid:\t0\nTracerPid:\t0\n")
            .Append("Uid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\n")
            .Append(CultureInfo.InvariantCulture, $"FDSize:\t{FdTable.Limit}\nGroups:\t\n")
            .Append(CultureInfo.InvariantCulture, $"VmPeak:\t{Kib(total),8} kB\nVmSize:\t{Kib(total),8} kB\nVmLck:\t       0 kB\nVmPin:\t       0 kB\n")
            .Append(CultureInfo.InvariantCulture, $"VmHWM:\t{Kib(total),8} kB\nVmRSS:\t{Kib(total),8} kB\n")
            .Append(CultureInfo.InvariantCulture, $"VmData:\t{Kib(data),8} kB\nVmStk:\t{Kib(stack),8} kB\nVmExe:\t{Kib(exe),8} kB\nVmLib:\t       0 kB\nVmSwap:\t       0 kB\n")
            .Append(CultureInfo.InvariantCulture, $"Threads:\t{p.Threads.Count}\n")
            .Append(CultureInfo.InvariantCulture, $"SigQ:\t{BitOperations.PopCount(threadPending | sharedPending)}/{SignalState.Count}\n")
            .Append(CultureInfo.InvariantCulture, $"SigPnd:\t{threadPending:x16}\nShdPnd:\t{sharedPending:x16}\nSigBlk:\t{p.Signals.Mask:x16}\n")
            .Append(CultureInfo.InvariantCulture, $"SigIgn:\t{ignored:x16}\nSigCgt:\t{caught:x16}\n")
            .Append("CapInh:\t0000000000000000\nCapPrm:\t0000000000000000\nCapEff:\t0000000000000000\nCapBnd:\t0000000000000000\nCapAmb:\t0000000000000000\n")
            .Append("NoNewPrivs:\t0\nSeccomp:\t0\nCpus_allowed:\t1\nCpus_allowed_list:\t0\nMems_allowed:\t1\nMems_allowed_list:\t0\n")
            .Append("voluntary_ctxt_switches:\t0\nnonvoluntary_ctxt_switches:\t0\n");
        return Encoding.UTF8.GetBytes(text.ToString());
    }

    /// <summary>
    /// /proc/self/stat: proc(5)'s 52 fields on one line. libuv's uv_resident_set_memory (Node's process.memoryUsage())
    /// reads the 24th, the resident size in pages, and fails without the file. Pages are not tracked one by one, so
    /// the resident size is what is mapped with some access (a PROT_NONE reservation, such as V8's, is never
    /// resident); the user time is the program's CPU time as times() counts it; addresses a debugger would read are 0,
    /// as Linux shows them to a reader without ptrace access.
    /// </summary>
    private static byte[] ProcessStat(LinuxProcess p)
    {
        var (size, resident) = Sizes(p);
        var ticks = TimeCalls.CpuNanoseconds(p) / 10_000_000; // USER_HZ is 100
        var nice = p.Threads.Find(LinuxProcess.Pid)?.Nice ?? 0; // the process's line is its main thread's
        var (pending, blocked) = (p.Signals.Thread.Pending | p.Signals.ProcessPending, p.Signals.Mask);
        var text = string.Create(CultureInfo.InvariantCulture,
            $"1 ({Encoding.UTF8.GetString(p.ThreadName)}) R 0 1 1 0 -1 4194560 0 0 0 0 {ticks} 0 0 0 {20 + nice} {nice} {p.Threads.Count} 0 0 {size} " +
            $"{resident / AddressSpace.PageSize} 18446744073709551615 0 0 0 0 0 {pending & 0x7fff_ffff} {blocked & 0x7fff_ffff} 0 0 0 0 0 17 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n");
        return Encoding.ASCII.GetBytes(text);
    }

    /// <summary>/proc/self/statm: size, resident, shared, text, lib, data and dt in pages (resident as in stat).</summary>
    private static byte[] ProcessStatm(LinuxProcess p)
    {
        var (size, resident) = Sizes(p);
        var mappings = p.Space.Mappings;
        var text = mappings.Where(m => m.Kind == MappingKind.File && (m.Protection & Protection.Execute) != 0).Aggregate(0UL, (sum, m) => sum + m.Length);
        var data = mappings.Where(m => m.Kind is MappingKind.Heap or MappingKind.Anonymous or MappingKind.Stack).Aggregate(0UL, (sum, m) => sum + m.Length);
        const ulong page = AddressSpace.PageSize;
        return Encoding.ASCII.GetBytes(string.Create(CultureInfo.InvariantCulture, $"{size / page} {resident / page} 0 {text / page} 0 {data / page} 0\n"));
    }

    /// <summary>Bytes mapped, and of those mapped with some access.</summary>
    private static (ulong Size, ulong Resident) Sizes(LinuxProcess p) =>
        (p.Space.Mappings.Aggregate(0UL, (sum, m) => sum + m.Length),
         p.Space.Mappings.Where(m => m.Protection != Protection.None).Aggregate(0UL, (sum, m) => sum + m.Length));

    /// <summary>One line a mapping, as Linux prints them: range, rwxp, offset, device, inode, what it maps.</summary>
    private static byte[] Maps(LinuxProcess p)
    {
        var text = new StringBuilder();
        foreach (var m in p.Space.Mappings)
        {
            var perms = string.Concat((m.Protection & Protection.Read) != 0 ? "r" : "-", (m.Protection & Protection.Write) != 0 ? "w" : "-",
                (m.Protection & Protection.Execute) != 0 ? "x" : "-", m.Shared ? "s" : "p");
            var name = m.Kind switch
            {
                MappingKind.File => m.Path ?? "",
                MappingKind.Heap => "[heap]",
                MappingKind.Stack => "[stack]",
                MappingKind.Vdso => "[vdso]",
                _ => "",
            };
            var line = string.Create(CultureInfo.InvariantCulture, $"{m.Start:x8}-{m.End:x8} {perms} {(m.Kind == MappingKind.File ? m.FileOffset : 0):x8} 00:00 0");
            text.Append(name.Length == 0 ? line : line.PadRight(72) + " " + name).Append('\n');
        }
        return Encoding.UTF8.GetBytes(text.ToString());
    }
}

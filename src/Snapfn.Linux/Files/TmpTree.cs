using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using Snapfn.Interop;
using Snapfn.Linux.Abi;

namespace Snapfn.Linux.Files;

/// <summary>
/// A VM's private /tmp on the host, walked, copied into a snapshot and written back, through directory
/// descriptors and *at calls that never follow a link: every lookup is one name in a directory already open
/// (fstatat with AT_SYMLINK_NOFOLLOW, openat2 with O_NOFOLLOW and RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS). A link
/// the program made is harmless inside its VM, where paths resolve in its root; on the host, following it would
/// read and write host files as the daemon. So links are kept as links (their target text), only regular files,
/// directories and links are taken, and what a snapshot holds is checked before anything is written back.
/// </summary>
internal static class TmpTree
{
    /// <summary>Longest path below /tmp and longest link target a snapshot may hold (PATH_MAX less its NUL).</summary>
    public const int MaxPathBytes = 4095;
    private const int MaxNameBytes = 255;
    private const ulong Beneath = Libc.RESOLVE_BENEATH | Libc.RESOLVE_NO_SYMLINKS | Libc.RESOLVE_NO_MAGICLINKS | Libc.RESOLVE_NO_XDEV;

    /// <summary>One entry met by <see cref="Walk"/>: its path below the root (names that are not UTF-8 held as
    /// <see cref="CString"/> escapes, and <paramref name="Utf8"/> false), the open directory it is in, its name there (NUL-terminated, for
    /// the *at calls) and its lstat.</summary>
    public readonly record struct Node(string Path, bool Utf8, SafeFd Directory, byte[] Name, Libc.stat_buf Stat)
    {
        public uint Type => Stat.st_mode & Libc.S_IFMT;

        public string GuestPath => "/tmp/" + Path;
    }

    /// <summary>Visits every entry below <paramref name="root"/>, parents before children, without following a
    /// link. Directories are reopened from the root by path (one descriptor open at a time, however deep).</summary>
    public static void Walk(SafeFd root, Action<Node> visit)
    {
        ArgumentNullException.ThrowIfNull(root);
        ArgumentNullException.ThrowIfNull(visit);
        var pending = new Queue<(byte[] Bytes, string Text, bool Utf8)>();
        pending.Enqueue(("."u8.ToArray(), "", true));
        var buffer = new byte[32 * 1024];
        while (pending.TryDequeue(out var directory))
        {
            using var fd = OpenBeneath(root, [.. directory.Bytes, 0], Libc.O_RDONLY | Libc.O_DIRECTORY, 0, out var errno)
                ?? throw new SyscallException($"openat2(/tmp/{directory.Text})", errno);
            long n;
            while ((n = SyscallException.Check(Libc.getdents64(fd, buffer), $"getdents64(/tmp/{directory.Text})")) > 0)
            {
                for (var at = 0; at < n;)
                {
                    // struct linux_dirent64: d_ino (8), d_off (8), d_reclen (2), d_type (1), d_name (NUL-terminated)
                    var length = BinaryPrimitives.ReadUInt16LittleEndian(buffer.AsSpan(at + 16));
                    var raw = buffer.AsSpan(at + 19, length - 19);
                    var name = raw[..raw.IndexOf((byte)0)];
                    at += length;
                    if (name.SequenceEqual("."u8) || name.SequenceEqual(".."u8))
                        continue;
                    byte[] nameZ = [.. name, 0];
                    if (Libc.fstatat(fd, nameZ, out var st, Libc.AT_SYMLINK_NOFOLLOW) < 0)
                        SyscallException.Throw($"fstatat(/tmp/{directory.Text})", Marshal.GetLastPInvokeError());
                    var utf8 = directory.Utf8 && System.Text.Unicode.Utf8.IsValid(name);
                    var text = directory.Text.Length == 0 ? CString.Decode(name) : directory.Text + "/" + CString.Decode(name);
                    visit(new Node(text, utf8, fd, nameZ, st));
                    if ((st.st_mode & Libc.S_IFMT) == Libc.S_IFDIR)
                        pending.Enqueue((directory.Text.Length == 0 ? name.ToArray() : [.. directory.Bytes, (byte)'/', .. name], text, utf8));
                }
            }
        }
    }

    /// <summary>
    /// The entries of /tmp for a snapshot, parents before children. Refuses, with a message for the function's
    /// author, what a snapshot cannot keep: anything but a regular file, a directory, a link or a FIFO (a socket, a
    /// device), a file with a name outside /tmp (a hard link from elsewhere, which the host could have made: such a
    /// file is never read), more than <paramref name="maxBytes"/> of file contents or <paramref name="maxEntries"/>
    /// entries. A file's second and later names become <see cref="ProcessState.TmpEntryKind.HardLink"/> entries to its
    /// first. No file is read past the sizes counted, so a file that grows cannot make the capture read more. Each
    /// entry has its mode, modification time and the owner <paramref name="owners"/> holds for it.
    /// </summary>
    public static List<ProcessState.TmpEntry> Capture(SafeFd root, FileOwners owners, long maxBytes, int maxEntries)
    {
        // A file with several names is kept only if all of them are below /tmp: count them before reading any.
        var names = new Dictionary<(ulong Device, ulong Inode), ulong>();
        Walk(root, node =>
        {
            if (node.Type == Libc.S_IFREG && node.Stat.st_nlink > 1)
                names[(node.Stat.st_dev, node.Stat.st_ino)] = names.GetValueOrDefault((node.Stat.st_dev, node.Stat.st_ino)) + 1;
        });
        var contents = new Dictionary<(ulong, ulong), byte[]>(); // of the files with several names, read once
        var found = new List<(ProcessState.TmpEntry Entry, (ulong, ulong)? Shared)>();
        long total = 0;
        Walk(root, node =>
        {
            if (found.Count == maxEntries)
                throw new TmpSnapshotException(
                    $"the function's /tmp holds more than {maxEntries} files, directories and links at the snapshot point; a snapshot copies " +
                    "/tmp into every VM, so remove in init() what the requests do not need");
            if (!node.Utf8)
                throw Unsupported(node, "a name that is not UTF-8");
            var mode = (int)(node.Stat.st_mode & 0x1ff);
            var inode = (node.Stat.st_dev, node.Stat.st_ino);
            var shared = node.Type == Libc.S_IFREG && node.Stat.st_nlink > 1;
            if (shared && names.GetValueOrDefault(inode) != node.Stat.st_nlink)
                throw Unsupported(node, "a file with a name outside /tmp (a hard link to it from elsewhere)");
            var entry = node.Type switch
            {
                Libc.S_IFDIR => new ProcessState.TmpEntry(node.Path, ProcessState.TmpEntryKind.Directory, mode, []),
                Libc.S_IFLNK => new ProcessState.TmpEntry(node.Path, ProcessState.TmpEntryKind.Symlink, mode, ReadLink(node)),
                Libc.S_IFIFO => new ProcessState.TmpEntry(node.Path, ProcessState.TmpEntryKind.Fifo, mode, []),
                Libc.S_IFREG => new ProcessState.TmpEntry(node.Path, ProcessState.TmpEntryKind.File, mode,
                    shared && contents.TryGetValue(inode, out var read) ? read : Read(node, inode, shared)),
                _ => throw Unsupported(node, Describe(node.Type)),
            };
            var (uid, gid) = owners.Of(node.Directory, node.Name, node.Stat.st_ino) ?? (0, 0);
            var modified = new Kernel.timespec { tv_sec = node.Stat.st_mtime_sec, tv_nsec = node.Stat.st_mtime_nsec };
            found.Add((entry with { Uid = uid, Gid = gid, Modified = modified }, shared ? inode : null));
        });
        found.Sort((a, b) => string.CompareOrdinal(a.Entry.Path, b.Entry.Path));
        // A file with several names is a File entry at the first of them in this order, which a restore meets first,
        // and a HardLink entry to it at each of the others.
        var firstNames = new Dictionary<(ulong, ulong), string>();
        return [.. found.Select(f => f.Shared is { } inode && !firstNames.TryAdd(inode, f.Entry.Path)
            ? f.Entry with { Kind = ProcessState.TmpEntryKind.HardLink, Content = Encoding.UTF8.GetBytes(firstNames[inode]) }
            : f.Entry)];

        byte[] Read(Node node, (ulong, ulong) inode, bool shared)
        {
            var content = ReadFile(node, maxBytes - total);
            total += content.Length;
            if (shared)
                contents[inode] = content;
            return content;
        }
    }

    private static TmpSnapshotException Unsupported(Node node, string what) => new(
        $"the function's /tmp holds {what} at {node.GuestPath}: a snapshot keeps only regular files, directories, symbolic " +
        "links and FIFOs of /tmp; remove it in init(), before the function reads its first request");

    private static string Describe(uint type) => type switch
    {
        Libc.S_IFIFO => "a FIFO",
        Libc.S_IFSOCK => "a socket",
        Libc.S_IFCHR => "a character device",
        Libc.S_IFBLK => "a block device",
        _ => $"a file of type 0x{type:x}",
    };

    private static byte[] ReadLink(Node node)
    {
        var target = new byte[MaxPathBytes + 1];
        var n = Libc.readlinkat(node.Directory, node.Name, target);
        if (n < 0)
            SyscallException.Throw($"readlinkat({node.GuestPath})", Marshal.GetLastPInvokeError());
        if (n > MaxPathBytes)
            throw Unsupported(node, "a symbolic link whose target is longer than PATH_MAX");
        return target[..(int)n];
    }

    private static byte[] ReadFile(Node node, long budget)
    {
        // O_NONBLOCK: should the name have become a FIFO since fstatat, opening it must not wait for a writer.
        using var fd = OpenBeneath(node.Directory, node.Name, Libc.O_RDONLY | Libc.O_NONBLOCK, 0, out var errno)
            ?? throw new SyscallException($"openat2({node.GuestPath})", errno);
        SyscallException.Check(Libc.fstatat(fd, "\0"u8, out var st, Libc.AT_EMPTY_PATH), $"fstat({node.GuestPath})");
        if ((st.st_mode & Libc.S_IFMT) != Libc.S_IFREG)
            throw Unsupported(node, Describe(st.st_mode & Libc.S_IFMT));
        if (st.st_ino != node.Stat.st_ino || st.st_nlink != node.Stat.st_nlink)
            throw new TmpSnapshotException($"the function's /tmp changed during the snapshot at {node.GuestPath}; take the snapshot again");
        if (st.st_size > budget)
            throw new TmpSnapshotException(
                $"the function's /tmp holds more than {ProcessState.MaxTmpBytes >> 20} MiB of file contents at the snapshot point " +
                $"({node.GuestPath} alone is {st.st_size} bytes, sparse holes included); a snapshot copies /tmp into every VM, so " +
                "keep large data in the function's code folder or in memory, and remove scratch files in init()");
        var content = new byte[st.st_size];
        var done = 0;
        while (done < content.Length)
        {
            var n = SyscallException.Check(Libc.pread(fd, content.AsSpan(done), done), $"pread({node.GuestPath})");
            if (n == 0)
                break; // it shrank: keep what is there
            done += (int)n;
        }
        return done == content.Length ? content : content[..done];
    }

    /// <summary>Removes everything below <paramref name="root"/>, children first, each by its name in its parent
    /// (unlinkat): a link is removed, never what it points to.</summary>
    public static void Clear(SafeFd root)
    {
        var found = new List<(string Path, bool Directory)>();
        Walk(root, node => found.Add((node.Path, node.Type == Libc.S_IFDIR)));
        for (var i = found.Count - 1; i >= 0; i--)
        {
            var (path, directory) = found[i];
            var slash = path.LastIndexOf('/');
            using var parent = slash < 0 ? null : OpenBeneath(root, path[..slash], Libc.O_PATH | Libc.O_DIRECTORY, 0, out var errno)
                ?? throw new SyscallException($"openat2(/tmp/{path[..slash]})", errno);
            if (Libc.unlinkat(parent ?? root, CString.Of(path[(slash + 1)..]), directory ? Libc.AT_REMOVEDIR : 0) < 0)
                SyscallException.Throw($"unlinkat(/tmp/{path})", Marshal.GetLastPInvokeError());
        }
    }

    /// <summary>
    /// Writes <paramref name="entries"/> (checked with <see cref="Check"/> first) into <paramref name="root"/>, a
    /// fresh empty directory. Every entry is created by one name in its parent, opened without following a link,
    /// with O_EXCL or mkdirat/symlinkat (which never follow the last name either): an entry can neither go through a
    /// link written before it nor write over one. Directory modes and times are set last, deepest first, so that a
    /// read-only directory still takes its children and no child's creation moves its parent's time. Owners go into
    /// <paramref name="owners"/>.
    /// </summary>
    public static void Restore(SafeFd root, FileOwners owners, IReadOnlyList<ProcessState.TmpEntry> entries)
    {
        ArgumentNullException.ThrowIfNull(root);
        ArgumentNullException.ThrowIfNull(entries);
        try
        {
            Check(entries, ProcessState.MaxTmpBytes, ProcessState.MaxTmpEntries);
        }
        catch (InvalidDataException e)
        {
            throw new ProcessRestoreException(e.Message, e);
        }
        foreach (var entry in entries)
        {
            var slash = entry.Path.LastIndexOf('/');
            using var parent = slash < 0 ? null : OpenBeneath(root, entry.Path[..slash], Libc.O_PATH | Libc.O_DIRECTORY, 0, out var parentErrno)
                ?? throw Failed(entry, "its directory cannot be opened", parentErrno);
            var directory = parent ?? root;
            var name = CString.Of(entry.Path[(slash + 1)..]);
            switch (entry.Kind)
            {
                case ProcessState.TmpEntryKind.Directory:
                    if (Libc.mkdirat(directory, name, 0x1c0 /* 0700 until the end */) < 0)
                        throw Failed(entry, "mkdirat", Marshal.GetLastPInvokeError());
                    break;
                case ProcessState.TmpEntryKind.Symlink:
                    if (Libc.symlinkat([.. entry.Content, 0], directory, name) < 0)
                        throw Failed(entry, "symlinkat", Marshal.GetLastPInvokeError());
                    SetModified(directory, name, entry);
                    break;
                case ProcessState.TmpEntryKind.HardLink:
                    LinkToFile(root, directory, name, entry);
                    continue; // the file's own entry gave it its owner and time
                case ProcessState.TmpEntryKind.Fifo:
                    MakeFifo(directory, name, entry);
                    break;
                default:
                    WriteFile(directory, name, entry);
                    break;
            }
            if (entry.Uid != 0 || entry.Gid != 0)
            {
                if (Libc.fstatat(directory, name, out var st, Libc.AT_SYMLINK_NOFOLLOW) < 0)
                    throw Failed(entry, "fstatat", Marshal.GetLastPInvokeError());
                if (owners.Set(directory, name, 0, st.st_ino, entry.Uid, entry.Gid) is var set and < 0)
                    throw Failed(entry, "its owner", -set);
            }
        }
        for (var i = entries.Count - 1; i >= 0; i--)
        {
            var entry = entries[i];
            if (entry.Kind != ProcessState.TmpEntryKind.Directory)
                continue;
            using var fd = OpenBeneath(root, entry.Path, Libc.O_RDONLY | Libc.O_DIRECTORY, 0, out var errno) ?? throw Failed(entry, "openat2", errno);
            if (Libc.fchmod(fd, (uint)entry.Mode & 0x1ff) < 0)
                throw Failed(entry, "fchmod", Marshal.GetLastPInvokeError());
            SetModified(fd, "\0"u8, entry, Libc.AT_EMPTY_PATH);
        }
    }

    /// <summary>Gives what <paramref name="name"/> names in <paramref name="directory"/> (not followed; with AT_EMPTY_PATH
    /// and "", the descriptor's own inode) the entry's modification time, if the snapshot has one; its access time is
    /// the restore's.</summary>
    private static unsafe void SetModified(SafeFd directory, ReadOnlySpan<byte> name, ProcessState.TmpEntry entry, int flags = Libc.AT_SYMLINK_NOFOLLOW)
    {
        if (entry.Modified is not { } modified)
            return;
        var times = stackalloc Kernel.timespec[] { new() { tv_nsec = Kernel.UTIME_OMIT }, modified };
        fixed (byte* p = name)
        {
            if (Libc.utimensat(directory, p, times, flags) < 0)
                throw Failed(entry, "utimensat", Marshal.GetLastPInvokeError());
        }
    }

    /// <summary>Gives the file an earlier entry made (its path is the content, checked to be such an entry's) the name
    /// <paramref name="name"/> in <paramref name="directory"/>; the file's directory is opened as any entry's parent,
    /// never through a link, and linkat follows neither name.</summary>
    private static unsafe void LinkToFile(SafeFd root, SafeFd directory, byte[] name, ProcessState.TmpEntry entry)
    {
        var target = Encoding.UTF8.GetString(entry.Content);
        var slash = target.LastIndexOf('/');
        using var parent = slash < 0 ? null : OpenBeneath(root, target[..slash], Libc.O_PATH | Libc.O_DIRECTORY, 0, out var errno)
            ?? throw Failed(entry, "its file's directory cannot be opened", errno);
        fixed (byte* from = CString.Of(target[(slash + 1)..]))
        fixed (byte* to = name)
        {
            if (Libc.linkat(parent ?? root, from, directory, to, 0) < 0)
                throw Failed(entry, "linkat", Marshal.GetLastPInvokeError());
        }
    }

    private static unsafe void MakeFifo(SafeFd directory, byte[] name, ProcessState.TmpEntry entry)
    {
        fixed (byte* p = name)
        {
            // The name is new (mknodat never replaces one), so setting the mode through it reaches this FIFO.
            if (Libc.mknodat(directory, p, Libc.S_IFIFO | 0x180, 0) < 0)
                throw Failed(entry, "mknodat", Marshal.GetLastPInvokeError());
            if (Libc.fchmodat(directory, p, (uint)entry.Mode & 0x1ff, 0) < 0)
                throw Failed(entry, "fchmodat", Marshal.GetLastPInvokeError());
        }
        SetModified(directory, name, entry);
    }

    private static void WriteFile(SafeFd directory, byte[] name, ProcessState.TmpEntry entry)
    {
        using var fd = OpenBeneath(directory, name, Libc.O_WRONLY | Libc.O_CREAT | Libc.O_EXCL, 0x180 /* 0600 */, out var errno)
            ?? throw Failed(entry, "openat2", errno);
        for (var done = 0; done < entry.Content.Length;)
        {
            var n = Libc.pwrite(fd, entry.Content.AsSpan(done), done);
            if (n <= 0)
                throw Failed(entry, "pwrite", n < 0 ? Marshal.GetLastPInvokeError() : Errno.EIO);
            done += (int)n;
        }
        if (Libc.fchmod(fd, (uint)entry.Mode & 0x1ff) < 0)
            throw Failed(entry, "fchmod", Marshal.GetLastPInvokeError());
        SetModified(fd, "\0"u8, entry, Libc.AT_EMPTY_PATH);
    }

    private static ProcessRestoreException Failed(ProcessState.TmpEntry entry, string what, int errno) => new(
        $"the snapshot's /tmp entry '{entry.Path}' cannot be written back ({what}: {Errno.Name(errno)}); take the snapshot again");

    /// <summary>
    /// Checks what a snapshot says /tmp held before anything is written: each path is one or more names joined by
    /// '/' (none empty, ".", ".." or holding NUL; absolute paths are refused), within PATH_MAX and NAME_MAX; each
    /// kind is known; a link's target is 1 to 4095 bytes without NUL; a directory and a FIFO hold no content; a second
    /// name names an earlier file entry (never a link, nor a path through one); owners are ids (not -1) and times
    /// valid; the entries and their contents stay within the snapshot's limits. Throws <see cref="InvalidDataException"/>.
    /// </summary>
    public static void Check(IReadOnlyList<ProcessState.TmpEntry> entries, long maxBytes, int maxEntries)
    {
        ArgumentNullException.ThrowIfNull(entries);
        if (entries.Count > maxEntries)
            throw new InvalidDataException($"the snapshot's /tmp has {entries.Count} entries, more than {maxEntries}");
        long total = 0;
        var files = new HashSet<string>(StringComparer.Ordinal);
        foreach (var entry in entries)
        {
            var path = entry.Path ?? "";
            if (path.Length == 0 || Encoding.UTF8.GetByteCount(path) > MaxPathBytes)
                throw Bad(path, "an empty or over-long path");
            foreach (var name in path.Split('/'))
            {
                if (name.Length == 0 || name is "." or ".." || name.Contains('\0', StringComparison.Ordinal) || Encoding.UTF8.GetByteCount(name) > MaxNameBytes)
                    throw Bad(path, "an empty, '.', '..', over-long or NUL-holding name");
            }
            var content = entry.Content ?? throw Bad(path, "no content");
            if (entry.Uid == Ownership.Unchanged || entry.Gid == Ownership.Unchanged)
                throw Bad(path, "an owner of -1, which is no id");
            if (entry.Modified is { tv_nsec: < 0 or >= 1_000_000_000 })
                throw Bad(path, "a modification time whose nanoseconds are out of range");
            switch (entry.Kind)
            {
                case ProcessState.TmpEntryKind.Directory when content.Length != 0:
                    throw Bad(path, "a directory with content");
                case ProcessState.TmpEntryKind.Symlink when content.Length is 0 or > MaxPathBytes || content.AsSpan().Contains((byte)0):
                    throw Bad(path, "a link target that is empty, over-long or holds NUL");
                case ProcessState.TmpEntryKind.File:
                    total += content.Length;
                    if (total > maxBytes)
                        throw new InvalidDataException($"the snapshot's /tmp holds more than {maxBytes} bytes");
                    files.Add(path);
                    break;
                case ProcessState.TmpEntryKind.HardLink when !files.Contains(Encoding.UTF8.GetString(content)):
                    throw Bad(path, "a second name for something that is not an earlier file entry");
                case ProcessState.TmpEntryKind.Fifo when content.Length != 0:
                    throw Bad(path, "a FIFO with content");
                case ProcessState.TmpEntryKind.Directory or ProcessState.TmpEntryKind.Symlink or ProcessState.TmpEntryKind.HardLink
                    or ProcessState.TmpEntryKind.Fifo:
                    break;
                default:
                    throw Bad(path, $"an unknown kind ({(int)entry.Kind})");
            }
        }
    }

    private static InvalidDataException Bad(string path, string what) =>
        new($"the snapshot's /tmp entry '{path.Replace("\0", "\\0", StringComparison.Ordinal)}' has {what}");

    /// <summary>openat2 of <paramref name="path"/> below <paramref name="directory"/>, never following a link in it
    /// (O_NOFOLLOW for the last name, RESOLVE_NO_SYMLINKS for the others) nor leaving it; null and the errno on failure.</summary>
    public static SafeFd? OpenBeneath(SafeFd directory, string path, int flags, uint mode, out int errno) =>
        OpenBeneath(directory, CString.Of(path), flags, mode, out errno);

    private static SafeFd? OpenBeneath(SafeFd directory, byte[] path, int flags, uint mode, out int errno)
    {
        var how = new Libc.open_how
        {
            // openat2 refuses O_PATH with any flag but O_DIRECTORY, O_NOFOLLOW and O_CLOEXEC.
            flags = (ulong)(uint)(flags | Libc.O_NOFOLLOW | Libc.O_CLOEXEC | ((flags & Libc.O_PATH) == 0 ? Libc.O_NOCTTY : 0)),
            mode = (flags & Libc.O_CREAT) != 0 ? mode : 0,
            resolve = Beneath,
        };
        var fd = Libc.openat2(directory, path, how);
        errno = fd >= 0 ? 0 : Marshal.GetLastPInvokeError();
        return fd >= 0 ? new SafeFd(fd) : null;
    }
}

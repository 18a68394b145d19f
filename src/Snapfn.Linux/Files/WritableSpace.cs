using Snapfn.Interop;
using Snapfn.Linux.Abi;

namespace Snapfn.Linux.Files;

/// <summary>
/// What a writable mount (the VM's /tmp) holds on the host, kept under its <see cref="TmpQuota"/>. The counts are an
/// upper bound, never below the truth: a write adds the blocks it allocated (fstat before and after), a creation
/// adds an entry, and what may free space (unlink, rename over a file, truncation, the close of a file that has no
/// name left) only marks the counts stale. When a write or a creation would pass the quota on the bound, the
/// mount is counted again exactly — a walk that follows no link, plus the files still open with no name — and
/// the program gets ENOSPC only if the exact count is over too. Used from the vCPU thread only.
/// </summary>
internal sealed class WritableSpace
{
    /// <summary>What one write may allocate beyond its length: a partial block at each end and an extent block.</summary>
    private const long Slack = 3 * 4096;

    private readonly HashSet<HostFile> _open = new(ReferenceEqualityComparer.Instance);
    private long _bytes;
    private long _entries;
    private bool _exact = true;

    public WritableSpace(SafeFd directory, TmpQuota quota)
    {
        Directory = directory;
        Quota = quota;
        Owners = new FileOwners(quota.Entries, LiveHandles);
    }

    /// <summary>The owners the program gave its files here with chown.</summary>
    public FileOwners Owners { get; }

    /// <summary>The mount's host directory (O_PATH): where /tmp is walked, captured and restored.</summary>
    public SafeFd Directory { get; }

    /// <summary>The program's MAP_SHARED mappings of files here, once it has made one (null before: no cost to file I/O).</summary>
    internal IMappedFiles? MappedFiles { get; set; }

    public TmpQuota Quota { get; }

    /// <summary>Bytes of file data counted (an upper bound until <see cref="Recount"/>).</summary>
    public long Bytes => _bytes;

    /// <summary>Entries counted (an upper bound until <see cref="Recount"/>).</summary>
    public long Entries => _entries;

    public void Opened(HostFile file) => _open.Add(file);

    /// <summary>A file was closed: if it had no name left, its blocks are now free.</summary>
    public void Closed(HostFile file)
    {
        if (_open.Remove(file))
            _exact = false;
    }

    /// <summary>Something may have freed space or an entry (unlink, rename, O_TRUNC).</summary>
    public void Changed() => _exact = false;

    /// <summary>How many of <paramref name="length"/> bytes a write may take now: all, fewer (a short write, as on a
    /// disk that fills), or 0 (ENOSPC).</summary>
    public long Allow(long length)
    {
        if (_bytes + length + Slack <= Quota.Bytes)
            return length;
        Refresh();
        return Math.Clamp(Quota.Bytes - _bytes - Slack, 0, length);
    }

    /// <summary>A write or truncation changed a file's allocated bytes by <paramref name="delta"/>.</summary>
    public void Charge(long delta) => _bytes = Math.Max(0, _bytes + delta);

    /// <summary>0 if one more entry fits, else -ENOSPC.</summary>
    public int ReserveEntry()
    {
        if (_entries < Quota.Entries)
            return 0;
        Refresh();
        return _entries < Quota.Entries ? 0 : -Errno.ENOSPC;
    }

    /// <summary>An entry was made; <paramref name="surely"/> false when it may have existed already (O_CREAT without O_EXCL).</summary>
    public void EntryCreated(bool surely)
    {
        _entries++;
        if (!surely)
            _exact = false;
    }

    private void Refresh()
    {
        if (_exact)
            return;
        try
        {
            Recount();
        }
        catch (IOException)
        {
            // A directory the walk cannot read: the counts stay an upper bound, so refusing on them is still safe,
            // and a system call must end in an errno, never in an exception out of the VMM.
        }
    }

    /// <summary>The inode numbers and handles of the entries below the directory and the open files whose numbers are
    /// in <paramref name="inodes"/>: the files whose owners <see cref="Owners"/> must keep.</summary>
    private List<(ulong Inode, byte[] Handle)> LiveHandles(IReadOnlySet<ulong> inodes)
    {
        var live = new List<(ulong, byte[])>();
        TmpTree.Walk(Directory, node =>
        {
            if (inodes.Contains(node.Stat.st_ino) && Libc.name_to_handle_at(node.Directory, node.Name, 0) is { } handle)
                live.Add((node.Stat.st_ino, handle));
        });
        foreach (var file in _open)
        {
            if (file.HostFd is { } fd && Libc.fstatat(fd, "\0"u8, out var st, Libc.AT_EMPTY_PATH) == 0 && inodes.Contains(st.st_ino)
                && Libc.name_to_handle_at(fd, "\0"u8, Libc.AT_EMPTY_PATH) is { } handle)
                live.Add((st.st_ino, handle));
        }
        return live;
    }

    /// <summary>Counts what the mount holds now: every regular file's allocated blocks and every entry below the
    /// directory, and the files open with no name left (O_TMPFILE, or unlinked while open), each inode once.</summary>
    public void Recount()
    {
        long bytes = 0, entries = 0;
        var seen = new HashSet<(ulong, ulong)>();
        TmpTree.Walk(Directory, node =>
        {
            entries++;
            // A file with hard links is met once per name (an entry each, as tmpfs counts them) but its blocks once.
            if (node.Type == Libc.S_IFREG && (node.Stat.st_nlink == 1 || seen.Add((node.Stat.st_dev, node.Stat.st_ino))))
                bytes += node.Stat.st_blocks * 512;
        });
        foreach (var file in _open)
        {
            if (file.Stat(out var st) == 0 && st.st_nlink == 0 && seen.Add((st.st_dev, st.st_ino)))
            {
                entries++;
                bytes += st.st_blocks * 512;
            }
        }
        _bytes = bytes;
        _entries = entries;
        _exact = true;
    }
}

using Snapfn.Interop;
using Snapfn.Linux.Abi;

namespace Snapfn.Linux.Files;

/// <summary>
/// The owners a program gave the files of a writable mount (its /tmp) with chown. On the host every file there is
/// the daemon's and stays so; the owners the program sees live here, by inode number, each with the inode's file
/// handle. An inode number is reused once its file is gone, a handle never is: an owner whose file was removed is
/// never shown for a new file that gets the number. The table holds at most the mount's entry quota of owners;
/// when full, the owners of files that are gone (no name below the mount and not open) are dropped. Used from the
/// vCPU thread only.
/// </summary>
internal sealed class FileOwners
{
    private readonly record struct Owner(byte[] Handle, uint Uid, uint Gid);

    private readonly Dictionary<ulong, Owner> _byInode = [];
    private readonly int _limit;
    private readonly Func<IReadOnlySet<ulong>, IEnumerable<(ulong Inode, byte[] Handle)>> _liveHandles;

    /// <param name="limit">Most owners kept (the mount's entry quota: no more files can be live at once).</param>
    /// <param name="liveHandles">The inode numbers and handles of the live files (named below the mount or open) whose
    /// numbers are in a set, found in one pass.</param>
    public FileOwners(int limit, Func<IReadOnlySet<ulong>, IEnumerable<(ulong Inode, byte[] Handle)>> liveHandles)
    {
        _limit = limit;
        _liveHandles = liveHandles;
    }

    /// <summary>Owners kept (some may be of files already gone, until the table fills).</summary>
    public int Count => _byInode.Count;

    /// <summary>Shows the program's owner in <paramref name="st"/>, the host's stat of the inode <paramref name="fd"/>
    /// holds, when it has been given one; root's otherwise (what <see cref="Ownership.ToGuest"/> made it).</summary>
    public void Apply(SafeFd fd, ref Kernel.stat st)
    {
        if (Find(fd, "\0"u8, Libc.AT_EMPTY_PATH, st.st_ino) is { } owner)
            (st.st_uid, st.st_gid) = (owner.Uid, owner.Gid);
    }

    /// <summary>The owner given to the inode <paramref name="inode"/> that <paramref name="name"/> (NUL-terminated, not
    /// followed) names in <paramref name="directory"/>, or null for root's.</summary>
    public (uint Uid, uint Gid)? Of(SafeFd directory, ReadOnlySpan<byte> name, ulong inode) =>
        Find(directory, name, 0, inode) is { } owner ? (owner.Uid, owner.Gid) : null;

    private Owner? Find(SafeFd directory, ReadOnlySpan<byte> name, int flags, ulong inode)
    {
        if (_byInode.Count == 0 || !_byInode.TryGetValue(inode, out var owner))
            return null;
        return Libc.name_to_handle_at(directory, name, flags) is { } handle && handle.AsSpan().SequenceEqual(owner.Handle) ? owner : null;
    }

    /// <summary>Gives the inode that <paramref name="name"/> names in <paramref name="directory"/> (with
    /// AT_EMPTY_PATH and "", the descriptor's own) <paramref name="uid"/> and <paramref name="gid"/>: 0, or a negated
    /// errno (EINVAL where the host's file system makes no handles, ENOSPC when every owner kept is of a live file).</summary>
    public int Set(SafeFd directory, ReadOnlySpan<byte> name, int flags, ulong inode, uint uid, uint gid)
    {
        var handle = Libc.name_to_handle_at(directory, name, flags);
        if (handle is null)
            return -Errno.EINVAL;
        if (uid == 0 && gid == 0)
        {
            // root's is what every file has without an entry
            if (_byInode.TryGetValue(inode, out var old) && old.Handle.AsSpan().SequenceEqual(handle))
                _byInode.Remove(inode);
            return 0;
        }
        if (!_byInode.ContainsKey(inode) && _byInode.Count >= _limit && DropGone() == 0)
            return -Errno.ENOSPC;
        _byInode[inode] = new Owner(handle, uid, gid);
        return 0;
    }

    /// <summary>Drops the owners of files that are gone; returns how many.</summary>
    private int DropGone()
    {
        var live = new HashSet<ulong>();
        IEnumerable<(ulong Inode, byte[] Handle)> found;
        try
        {
            found = _liveHandles(_byInode.Keys.ToHashSet());
        }
        catch (IOException)
        {
            return 0; // a directory the walk cannot read: nothing is known gone, and a system call must end in an errno
        }
        foreach (var (inode, handle) in found)
        {
            if (_byInode.TryGetValue(inode, out var owner) && owner.Handle.AsSpan().SequenceEqual(handle))
                live.Add(inode);
        }
        var before = _byInode.Count;
        foreach (var inode in _byInode.Keys.Where(i => !live.Contains(i)).ToList())
            _byInode.Remove(inode);
        return before - _byInode.Count;
    }
}

using Snapfn.Interop;
using Snapfn.Linux.Abi;

namespace Snapfn.Linux.Files;

/// <summary>
/// Owners of files as the program, which runs as root, sees them. The root's files are the host's, read-only: one the
/// daemon owns reads as root's, any other as the overflow id (65534), as Linux shows an owner a user namespace does
/// not map. A writable mount's files are all the daemon's on the host and stay so; chown gives them any owner, as
/// Linux's root can, kept by the mount's <see cref="FileOwners"/>, so that stat shows it (and a snapshot keeps it).
/// </summary>
internal static class Ownership
{
    /// <summary>Linux's overflowuid and overflowgid: what an unmapped owner reads as.</summary>
    public const uint Overflow = 65534;

    /// <summary>chown's "leave this id as it is".</summary>
    public const uint Unchanged = uint.MaxValue;

    private static readonly uint _hostUid = Libc.geteuid(), _hostGid = Libc.getegid();

    /// <summary>Turns the host's owner of a stat of the inode <paramref name="fd"/> holds into the program's; a file of
    /// <paramref name="space"/> (a writable mount) shows the owner chown gave it.</summary>
    public static void ToGuest(ref Kernel.stat st, SafeFd fd, WritableSpace? space)
    {
        st.st_uid = st.st_uid == _hostUid ? 0 : Overflow;
        st.st_gid = st.st_gid == _hostGid ? 0 : Overflow;
        space?.Owners.Apply(fd, ref st);
    }

    /// <summary>chown of the inode <paramref name="fd"/> holds (O_PATH or not, a link itself or not), a file of the
    /// writable mount <paramref name="space"/>, whose program's view is <paramref name="st"/>: -1 keeps an id. As on
    /// Linux, the change time moves even when the ids do not. 0 or a negated errno.</summary>
    public static unsafe int Change(WritableSpace space, SafeFd fd, in Kernel.stat st, uint uid, uint gid)
    {
        var set = space.Owners.Set(fd, "\0"u8, Libc.AT_EMPTY_PATH, st.st_ino, uid == Unchanged ? st.st_uid : uid, gid == Unchanged ? st.st_gid : gid);
        if (set < 0)
            return set;
        // the host's chown to the ids the file has changes only its change time
        fixed (byte* empty = "\0"u8)
            return (int)HostFile.Result(Libc.fchownat(fd, empty, Unchanged, Unchanged, Libc.AT_EMPTY_PATH));
    }

    /// <summary>chown of a file whose owner cannot change (procfs's entries, which are root's): 0 when nothing would
    /// change, else EPERM.</summary>
    public static int KeepOnly(in Kernel.stat st, uint uid, uint gid) =>
        (uid != Unchanged && st.st_uid != uid) || (gid != Unchanged && st.st_gid != gid) ? -Errno.EPERM : 0;
}

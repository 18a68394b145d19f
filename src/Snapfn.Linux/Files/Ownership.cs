using Snapfn.Interop;
using Snapfn.Linux.Abi;

namespace Snapfn.Linux.Files;

/// <summary>
/// Owners of files as the program sees them. The program is root in what behaves as a user namespace that maps only
/// uid and gid 0, to the daemon's own ids: a host file the daemon owns reads as root's, any other as the overflow
/// id (65534), as Linux shows unmapped owners. chown can therefore change nothing: -1 or the owner's own id succeeds
/// (the file keeps its owner), an id the namespace does not map is EINVAL, and a file whose owner is unmapped cannot
/// be given to root (EPERM) — Linux's answers for root in such a namespace.
/// </summary>
internal static class Ownership
{
    /// <summary>Linux's overflowuid and overflowgid: what an unmapped owner reads as.</summary>
    public const uint Overflow = 65534;

    /// <summary>chown's "leave this id as it is".</summary>
    public const uint Unchanged = uint.MaxValue;

    private static readonly uint _hostUid = Libc.geteuid(), _hostGid = Libc.getegid();

    /// <summary>Turns the host's owner of a stat into the program's.</summary>
    public static void ToGuest(ref Kernel.stat st)
    {
        st.st_uid = st.st_uid == _hostUid ? 0 : Overflow;
        st.st_gid = st.st_gid == _hostGid ? 0 : Overflow;
    }

    /// <summary>chown of a file with <paramref name="st"/> (the program's view) to <paramref name="uid"/> and
    /// <paramref name="gid"/>, after the lookup and the read-only check: 0 when nothing would change, else the errno.</summary>
    public static int Change(in Kernel.stat st, uint uid, uint gid)
    {
        if (uid is not (Unchanged or 0) || gid is not (Unchanged or 0))
            return -Errno.EINVAL;
        if ((uid != Unchanged && st.st_uid != uid) || (gid != Unchanged && st.st_gid != gid))
            return -Errno.EPERM;
        return 0;
    }
}

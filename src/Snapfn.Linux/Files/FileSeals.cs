using Snapfn.Linux.Abi;

namespace Snapfn.Linux.Files;

/// <summary>
/// The seals of a file (fcntl F_ADD_SEALS, F_GET_SEALS; memfd_create(2)), as Linux 6.1 keeps them for a shmem file:
/// F_SEAL_SHRINK and F_SEAL_GROW refuse a size change that way, F_SEAL_WRITE and F_SEAL_FUTURE_WRITE every write, and
/// F_SEAL_WRITE also every MAP_SHARED mapping (6.1 counts a shared mapping as writable whatever its protection; it is
/// EBUSY while one exists), F_SEAL_FUTURE_WRITE a new writable shared one; F_SEAL_SEAL ends the adding. A /tmp file
/// (tmpfs) and a memfd made without MFD_ALLOW_SEALING have F_SEAL_SEAL alone. One per open file description, which
/// here is one per file: a memfd has no name to be opened by again.
/// </summary>
internal sealed class FileSeals
{
    public const int F_SEAL_SEAL = 1, F_SEAL_SHRINK = 2, F_SEAL_GROW = 4, F_SEAL_WRITE = 8, F_SEAL_FUTURE_WRITE = 16;

    /// <summary>Linux 6.1's F_ALL_SEALS (F_SEAL_EXEC came with 6.3).</summary>
    private const int AllSeals = F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_FUTURE_WRITE;

    public FileSeals(int seals)
    {
        Value = seals;
    }

    public int Value { get; private set; }

    /// <summary>F_ADD_SEALS on a description open for writing or not, of a file mapped MAP_SHARED or not: 0 or a negated
    /// errno in Linux's order (EPERM not writable, EINVAL unknown seals, EPERM sealed, EBUSY a write seal while mapped).</summary>
    public int Add(int seals, bool writable, bool mappedShared)
    {
        if (!writable)
            return -Errno.EPERM;
        if ((seals & ~AllSeals) != 0)
            return -Errno.EINVAL;
        if ((Value & F_SEAL_SEAL) != 0)
            return -Errno.EPERM;
        if ((seals & F_SEAL_WRITE) != 0 && (Value & F_SEAL_WRITE) == 0 && mappedShared)
            return -Errno.EBUSY;
        Value |= seals;
        return 0;
    }

    /// <summary>A write that would end at <paramref name="end"/> in a file of <paramref name="size"/> bytes: 0 or -EPERM.</summary>
    public int CheckWrite(long end, long size) =>
        (Value & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE)) != 0 || ((Value & F_SEAL_GROW) != 0 && end > size) ? -Errno.EPERM : 0;

    /// <summary>A truncation from <paramref name="size"/> to <paramref name="length"/> bytes: 0 or -EPERM.</summary>
    public int CheckResize(long length, long size) =>
        (length < size && (Value & F_SEAL_SHRINK) != 0) || (length > size && (Value & F_SEAL_GROW) != 0) ? -Errno.EPERM : 0;

    /// <summary>A new MAP_SHARED mapping, writable or not: 0 or -EPERM.</summary>
    public int CheckSharedMap(bool writable) =>
        (Value & F_SEAL_WRITE) != 0 || (writable && (Value & F_SEAL_FUTURE_WRITE) != 0) ? -Errno.EPERM : 0;

    /// <summary>Whether a seal limits truncation (so that an ftruncate need not look at the file's size otherwise).</summary>
    public bool LimitsSize => (Value & (F_SEAL_SHRINK | F_SEAL_GROW)) != 0;

    /// <summary>Whether any seal limits writes or sizes (so that a write need not look at the file's size otherwise).</summary>
    public bool LimitsWrites => (Value & (F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_FUTURE_WRITE)) != 0;
}

namespace Snapfn.Linux.Files;

/// <summary>
/// How much a VM's /tmp (any writable mount) may make the host hold: file data, counted in allocated blocks
/// (what the disk holds, so a sparse file's holes cost nothing and a write at offset 2^40 costs a block), and
/// entries (files, directories, symbolic links, and files still open after their last name went). Past either
/// the program gets ENOSPC, as from a full disk. Set per VM with <see cref="ProcessOptions.TmpQuota"/>.
/// </summary>
public sealed record TmpQuota
{
    public TmpQuota(long bytes, int entries)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(bytes);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(entries);
        Bytes = bytes;
        Entries = entries;
    }

    /// <summary>Bytes of file data (allocated blocks) the program's files may take.</summary>
    public long Bytes { get; }

    /// <summary>Files, directories and links the program may have at once.</summary>
    public int Entries { get; }

    /// <summary>256 MiB and 10 000 entries: far above what a function's scratch files need, far below a disk.</summary>
    public static TmpQuota Default { get; } = new(256L << 20, 10_000);
}

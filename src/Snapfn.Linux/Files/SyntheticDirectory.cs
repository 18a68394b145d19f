using System.Buffers.Binary;
using System.Text;
using Snapfn.Linux.Abi;

namespace Snapfn.Linux.Files;

/// <summary>A read-only directory whose entries the VMM makes up (/proc/self, /proc/self/fd), listed when the program
/// first reads it (so that the descriptor it reads through is in /proc/self/fd, as on Linux), again after a rewind.</summary>
internal sealed class SyntheticDirectory : OpenFile
{
    internal const byte DT_DIR = 4, DT_REG = 8, DT_LNK = 10;
    private readonly Func<IReadOnlyList<(string Name, byte Type)>> _list;
    private readonly ulong _inode;
    private IReadOnlyList<(string Name, byte Type)>? _entries;
    private int _next;

    public SyntheticDirectory(string guestPath, ulong inode, Func<IReadOnlyList<(string Name, byte Type)>> list)
        : base(guestPath, Interop.Libc.O_RDONLY | Interop.Libc.O_DIRECTORY)
    {
        _inode = inode;
        _list = list;
    }

    public override bool IsDirectory => true;

    /// <summary>The next entry a read returns (what lseek takes back), for a snapshot.</summary>
    internal int Position => _next;

    public override long Read(Span<byte> buffer) => -Errno.EISDIR;

    /// <summary>linux_dirent64 records: d_ino, d_off, d_reclen, d_type, the NUL-terminated name, 8-byte aligned;
    /// EINVAL when not even the next one fits.</summary>
    public override long ReadDirectory(Span<byte> buffer)
    {
        _entries ??= [(".", DT_DIR), ("..", DT_DIR), .. _list()];
        var at = 0;
        while (_next < _entries.Count)
        {
            var (name, type) = _entries[_next];
            var nameBytes = Encoding.UTF8.GetBytes(name);
            var length = (19 + nameBytes.Length + 1 + 7) & ~7;
            if (at + length > buffer.Length)
                return at == 0 ? -Errno.EINVAL : at;
            var record = buffer.Slice(at, length);
            record.Clear();
            BinaryPrimitives.WriteUInt64LittleEndian(record, _inode + (ulong)_next + 1);
            BinaryPrimitives.WriteInt64LittleEndian(record[8..], _next + 1);
            BinaryPrimitives.WriteUInt16LittleEndian(record[16..], (ushort)length);
            record[18] = type;
            nameBytes.CopyTo(record[19..]);
            at += length;
            _next++;
        }
        return at;
    }

    public override long Seek(long offset, int whence)
    {
        if (whence != Kernel.SEEK_SET || offset < 0)
            return -Errno.EINVAL;
        _next = (int)Math.Min(offset, int.MaxValue);
        if (offset == 0)
            _entries = null;
        return offset;
    }

    public override int Stat(out Kernel.stat st) => Stat(_inode, out st);

    public static int Stat(ulong inode, out Kernel.stat st)
    {
        st = default;
        st.st_mode = Kernel.S_IFDIR | 0x16d; // 0555
        st.st_nlink = 2;
        st.st_blksize = 4096;
        st.st_ino = inode;
        return 0;
    }
}

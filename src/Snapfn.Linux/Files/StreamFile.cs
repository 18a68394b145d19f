using Snapfn.Linux.Abi;

namespace Snapfn.Linux.Files;

/// <summary>
/// Standard input, output or error: writes go to a host sink (the CLI's stdout and stderr, a function's log),
/// reads come from a host source (the CLI's stdin) or see end of file. It looks like a pipe to the program (not a
/// terminal).
/// </summary>
public sealed class StreamFile : OpenFile
{
    private readonly Action<ReadOnlySpan<byte>>? _sink;
    private readonly Stream? _source;
    private readonly ulong _inode;

    public StreamFile(string name, int statusFlags, Action<ReadOnlySpan<byte>>? sink, ulong inode, Stream? source = null) : base(name, statusFlags)
    {
        _sink = sink;
        _source = source;
        _inode = inode;
    }

    /// <summary>A read waits for the host source (the watchdog cannot stop a guest while it waits there).</summary>
    public override long Read(Span<byte> buffer)
    {
        if (!CanRead)
            return -Errno.EBADF;
        try
        {
            return _source?.Read(buffer) ?? 0;
        }
        catch (IOException)
        {
            return -Errno.EIO;
        }
    }

    public override long Write(ReadOnlySpan<byte> buffer)
    {
        if (!CanWrite)
            return -Errno.EBADF;
        _sink?.Invoke(buffer);
        return buffer.Length;
    }

    /// <summary>Looks like a pipe to the program, so it can join an epoll set; always ready (a read waits in the read).</summary>
    public override bool CanEpoll => true;

    /// <summary>Standard input is always readable (a read waits for the host's source), the outputs always writable.</summary>
    public override int Poll() => CanRead ? PollEvents.Readable : PollEvents.Writable;

    public override int Stat(out Kernel.stat st)
    {
        st = default;
        st.st_mode = Kernel.S_IFIFO | 0x180; // 0600
        st.st_nlink = 1;
        st.st_blksize = 4096;
        st.st_ino = _inode;
        return 0;
    }
}
